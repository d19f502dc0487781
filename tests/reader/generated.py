"""Many stories at once, for tests of listings that must not grow with the table.

``make_story`` writes a story and its parts one by one; these tests want hundreds of rows,
and rows that tie on every sort key but the id.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from providers.models import Provider
from stories.models import State, Story, StoryTopic, Topic
from stories.reader import version as reader_version

_batch = itertools.count(1)


def generate_stories(
    count: int,
    *,
    provider: Provider,
    topic: Topic | None = None,
    state: str = State.PUBLISHED,
    **fields: Callable[[int], object],
) -> list[Story]:
    """``count`` stories of ``provider`` (and ``topic``); each of ``fields`` gives a column's value
    for the n-th story. By default every fourth story shares its date with the one before.
    Published ones move the reader version, as an import's would."""
    batch = next(_batch)
    now = timezone.now()
    values = {
        "published_at": lambda n: now - timedelta(hours=n // 2),
        "heat": lambda n: n % 7,
        "quality": lambda n: n % 5,
        **fields,
    }
    stories = Story.objects.bulk_create(
        Story(
            identity_key=f"g{batch}-{n}".rjust(64, "0"),
            title=f"Generated {batch}.{n}",
            excerpt="Generated story.",
            type="article",
            provider=provider,
            provider_name=provider.name,
            web_url=f"https://{provider.domain}/g{batch}-{n}",
            state=state,
            **{name: value(n) for name, value in values.items()},
        )
        for n in range(count)
    )
    if topic is not None:
        StoryTopic.objects.bulk_create(StoryTopic(story=story, topic=topic) for story in stories)
    if state == State.PUBLISHED:  # written past the workflow: readers' pages must see them
        reader_version.bump()
    return stories
