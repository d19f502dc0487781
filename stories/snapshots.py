"""A story whole, as a revision keeps it (``Revision.data``) and as undoing an import puts it back.

A snapshot is the story's source record in the story format's JSON form plus its editorial
values and its go-live/expiry window. ``snapshot_of`` reads it from a story's rows;
``written_snapshot`` gives the same for a story the import has just written, without reading
it back (``written_snapshot_text``: as JSON text, which the import writes as it is). The rows ↔
records mapping it rests on is ``stories.records``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import replace

from stories.models import Story
from stories.records import StoredStory, absent_as_none, stored_story
from stories.storyfile import StoryRecord, record_to_json


def snapshot_of(story: Story) -> dict:
    """The story whole, as a revision keeps it (``Revision.data``): its source record in the
    format's JSON form, its editorial values and the window readers may see it in. ``story``
    from ``stories_with_rows()``."""
    return previous_of(story, stored_story(story))


def previous_of(story: Story, stored: StoredStory) -> dict:
    """The story whole (``snapshot_of``) from a ``stored_story``: what a revision keeps, and what
    undoing an import needs to put ``story`` back as it was (``ImportRunStory.previous``)."""
    return _snapshot(
        stored.base,
        state=stored.state,
        quality=stored.quality,
        heat=stored.heat,
        editor_touched=stored.editor_touched,
        source_hash=stored.source_hash,
        provider_domain=story.provider.domain if story.provider_id else None,
        go_live_at=story.go_live_at,
        expire_at=story.expire_at,
    )


def written_snapshot(
    record: StoryRecord,
    *,
    topics: Sequence[str],
    state: str,
    quality: int | None,
    heat: int | None,
    editor_touched: Sequence[str] = (),
    source_hash: str,
    provider_domain: str | None,
    go_live_at: dt.datetime | None = None,
    expire_at: dt.datetime | None = None,
) -> dict:
    """What ``snapshot_of`` reads back from a story whose rows were just written from ``record``,
    with these values in its own columns and ``topics`` as its topic names, without reading them:
    an import keeps its revisions this way."""
    values = {
        "state": state,
        "quality": quality,
        "heat": heat,
        "editor_touched": editor_touched,
        "source_hash": source_hash,
        "provider_domain": provider_domain,
        "go_live_at": go_live_at,
        "expire_at": expire_at,
    }
    return _snapshot(_written_base(record, topics, quality, heat), **values)


def written_snapshot_text(record: StoryRecord, **values) -> str:
    """``written_snapshot`` as compact JSON text: what an import's bulk writer keeps as a new
    story's first revision (``writer.JsonText``), converted once."""
    return json.dumps(written_snapshot(record, **values), separators=(",", ":"))


def _written_base(record: StoryRecord, topics: Sequence[str], quality: int | None, heat: int | None):
    """The record a story written from ``record`` gives back: ``record`` itself unless the story
    changed its topics, quality or heat."""
    names = list(topics)
    raw = record.topics or ()
    kept: tuple[str, ...] | None = tuple(raw) if list(dict.fromkeys(raw)) == names else tuple(names)
    if not names and record.has("topics") and record.topics is None:
        kept = None
    changes = {
        name: value
        for name, value in (("quality", quality), ("heat", heat), ("topics", kept))
        if getattr(record, name) != value
    }
    # A new story's record is the parsed file's as it is: only what the story changed is replaced.
    return absent_as_none(replace(record, **changes)) if changes else record


def _snapshot(
    base: StoryRecord,
    *,
    state,
    quality,
    heat,
    editor_touched=(),
    source_hash,
    provider_domain,
    go_live_at=None,
    expire_at=None,
) -> dict:
    return {
        "record": record_to_json(base),
        "state": state,
        "quality": quality,
        "heat": heat,
        "topics": list(base.topics or ()),
        "editor_touched": list(editor_touched),
        "source_hash": source_hash,
        "provider_domain": provider_domain,
        **{
            name: value.isoformat() if value is not None else None
            for name, value in (("go_live_at", go_live_at), ("expire_at", expire_at))
        },
    }
