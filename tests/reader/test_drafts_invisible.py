"""A draft of a live story never reaches readers: pages, search, feeds, sitemaps, filter choices and
the conditional-GET validators all show the live story until a moderator publishes the draft."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stories.models import Story
from stories.workflow import RowChanges
from stories.workflow.drafts import edit, publish_draft
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

SECRETS = ("Secret draft title", "Secret related link", "Secret topic")


def reader_urls(story: Story) -> list[str]:
    topic = story.topics.get()
    domain = story.provider.domain
    return [
        reverse("stories:home"),
        reverse("stories:home") + "?sort=hot",
        reverse("stories:detail", args=[story.pk]),
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:provider", kwargs={"domain": domain}),
        reverse("stories:search") + "?q=Secret",
        reverse("stories:search") + "?q=Live",
        reverse("stories:feed_rss"),
        reverse("stories:feed_atom"),
        reverse("stories:topic_rss", kwargs={"slug": topic.slug}),
        reverse("stories:topic_atom", kwargs={"slug": topic.slug}),
        reverse("stories:provider_rss", kwargs={"domain": domain}),
        reverse("stories:provider_atom", kwargs={"domain": domain}),
        reverse("sitemap"),
        reverse("sitemap_section", kwargs={"section": "stories"}),
    ]


@pytest.fixture
def live_story():
    make_topic("Secret topic")  # exists, but no live story has it
    return make_story(
        title="Live title", topics=[make_topic("News")], provider=make_provider(name="Paper"), related=1
    )


def draft_everything(story: Story, editor) -> None:
    link = story.related_links.get()
    link.title = "Secret related link"
    done = edit(
        story,
        actor=editor,
        content={"title": "Secret draft title"},
        add_topics=[make_topic("Secret topic")],
        related=RowChanges(changed=[(link, ["title"])]),
    )
    assert done.draft is not None
    assert done.draft.data["record"]["related"][0]["title"] == "Secret related link"


def snapshot(client, urls) -> dict[str, tuple[int, str, str | None, str | None]]:
    pages = {}
    for url in urls:
        response = client.get(url)
        pages[url] = (
            response.status_code,
            response.content.decode(),
            response.get("ETag"),
            response.get("Last-Modified"),
        )
    return pages


def test_readers_see_the_live_story_on_every_surface_while_a_draft_waits(
    reader, editor, live_story, django_capture_on_commit_callbacks
):
    urls = reader_urls(live_story)
    before = snapshot(reader, urls)

    with django_capture_on_commit_callbacks(execute=True):  # as committed: nothing moves
        draft_everything(live_story, editor)
    after = snapshot(reader, urls)

    for url in urls:
        status, body, etag, modified = after[url]
        assert status == 200, url
        assert not [secret for secret in SECRETS if secret in body], url
        assert (etag, modified) == before[url][2:], url
        assert body == before[url][1], url
    assert "Live title" in after[reverse("stories:detail", args=[live_story.pk])][1]
    assert "Related" in after[reverse("stories:detail", args=[live_story.pk])][1]


def test_readers_see_the_draft_once_a_moderator_publishes_it(
    reader, editor, moderator, live_story, django_capture_on_commit_callbacks
):
    draft_everything(live_story, editor)
    etag = reader.get(reverse("stories:home"))["ETag"]

    with django_capture_on_commit_callbacks(execute=True):
        publish_draft(live_story, actor=moderator)

    detail = reader.get(reverse("stories:detail", args=[live_story.pk])).content.decode()
    assert "Secret draft title" in detail and "Secret related link" in detail
    found = reader.get(reverse("stories:search") + "?q=Secret").content.decode()
    assert "<mark>Secret</mark> draft title" in found
    assert "Secret topic" in reader.get(reverse("stories:home")).content.decode()
    assert reader.get(reverse("stories:home"))["ETag"] != etag
