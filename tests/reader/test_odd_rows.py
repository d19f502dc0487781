"""One odd row, as an old database may hold it, never takes down a reader page, feed, sitemap, the
queue or the admin.

The rows are written straight through the ORM, around the story file format that
refuses them today. The odd story is left out or shown without its broken link,
and logged with its id; the other stories are all there.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models.expressions import RawSQL
from django.urls import reverse

from stories import workflow
from stories.models import Image, ImportRun, ImportRunStory, RelatedLink, State, Story, StoryTopic, Topic
from stories.reader import version as reader_version
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL stores dates outside years 1-9999"
)


def every_reader_url(topic: Topic, provider, story: Story) -> list[str]:
    sections = ["home", "stories", "topics", "providers"]
    return [
        reverse("stories:home"),
        reverse("stories:home") + "?sort=hot",
        reverse("stories:home") + f"?topic={topic.slug}",
        reverse("stories:search") + "?q=story",
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:provider", kwargs={"domain": provider.domain}),
        story.get_absolute_url(),
        reverse("stories:feed_rss"),
        reverse("stories:feed_atom"),
        reverse("stories:topic_rss", kwargs={"slug": topic.slug}),
        reverse("stories:topic_atom", kwargs={"slug": topic.slug}),
        reverse("stories:provider_rss", kwargs={"domain": provider.domain}),
        reverse("stories:provider_atom", kwargs={"domain": provider.domain}),
        reverse("sitemap"),
        *(reverse("sitemap_section", kwargs={"section": section}) for section in sections),
    ]


@pytest.fixture
def good():
    """An ordinary live story, its topic and provider: every page must keep showing them."""
    topic = make_topic("Ordinary topic")
    provider = make_provider(name="Ordinary Daily", domain="ordinary.example")
    story = make_story(title="Ordinary story", topics=[topic], provider=provider)
    return topic, provider, story


def get_all(reader, urls: list[str]) -> dict[str, str]:
    pages = {}
    for url in urls:
        response = reader.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    return pages


def test_a_provider_domain_that_makes_no_url_costs_only_its_link(reader, good, caplog):
    topic, provider, story = good
    odd_provider = make_provider(name="Slashed Media", domain="micro/soft.com")
    odd = make_story(title="Slashed provider story", topics=[topic], provider=odd_provider)

    with caplog.at_level(logging.WARNING, logger="stories.reader"):
        pages = get_all(reader, [*every_reader_url(topic, provider, story), odd.get_absolute_url()])

    home = pages[reverse("stories:home")]
    assert "Ordinary story" in home
    assert "Slashed provider story" in home
    assert "Slashed Media" in home
    assert 'href="/provider/micro' not in home
    assert "Slashed Media" in pages[odd.get_absolute_url()]
    providers_sitemap = pages[reverse("sitemap_section", kwargs={"section": "providers"})]
    assert "ordinary.example" in providers_sitemap
    assert "soft.com" not in providers_sitemap
    assert f"story {odd.pk}: provider {odd_provider.pk} has a domain without a reader page" in caplog.text
    assert f"provider {odd_provider.pk} has no reader page" in caplog.text


def test_a_topic_slug_that_makes_no_url_costs_only_its_link(reader, good, caplog):
    topic, provider, story = good
    odd_topic = Topic.objects.create(name="Odd topic", slug="not a slug/é")
    odd = make_story(title="Odd topic story", topics=[topic, odd_topic], provider=provider)

    with caplog.at_level(logging.WARNING, logger="stories.reader"):
        pages = get_all(reader, [*every_reader_url(topic, provider, story), odd.get_absolute_url()])

    for url in (reverse("stories:home"), odd.get_absolute_url()):
        assert "Odd topic story" in pages[url]
        assert "<li>Odd topic</li>" in pages[url]
        assert 'href="/topic/not' not in pages[url]
    topics_sitemap = pages[reverse("sitemap_section", kwargs={"section": "topics"})]
    assert topic.get_absolute_url() in topics_sitemap
    assert "not%20a%20slug" not in topics_sitemap and "not a slug" not in topics_sitemap
    assert f"story {odd.pk}: topic {odd_topic.pk} has a slug without a reader page" in caplog.text
    assert f"topic {odd_topic.pk} has no reader page" in caplog.text


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "//evil.example/x", "http://", "https://[::1"],
)
def test_a_link_that_is_not_http_never_becomes_a_link(reader, moderator_client, good, url, settings):
    settings.NEWSROOM_IMAGE_FALLBACK = "remote"
    topic, provider, story = good
    odd = make_story(title="Unsafe link story", web_url=url, topics=[topic], provider=provider)
    Image.objects.filter(story=odd).update(url=url)
    RelatedLink.objects.create(story=odd, title="Unsafe coverage", web_url=url)
    queued = make_story(title="Unsafe queued story", web_url=url, state=State.IN_REVIEW)
    Image.objects.filter(story=queued).update(url=url)

    pages = get_all(reader, [*every_reader_url(topic, provider, story), odd.get_absolute_url()])
    pages["queue"] = moderator_client.get(reverse("moderation:queue")).content.decode()

    assert "Unsafe link story" in pages[reverse("stories:home")]
    assert "Unsafe coverage" in pages[odd.get_absolute_url()]
    assert "Unsafe queued story" in pages["queue"]
    for where, body in pages.items():
        assert f'href="{url}"' not in body, where
        assert f'src="{url}"' not in body, where
        assert "javascript:" not in body, where


@pytest.mark.parametrize(
    "published_at",
    [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)],
)
def test_a_date_at_the_ends_of_the_calendar_is_shown(reader, moderator_client, good, published_at):
    topic, provider, story = good
    odd = make_story(title="Calendar end story", published_at=published_at, topics=[topic], provider=provider)
    make_story(title="Calendar end queued", published_at=published_at, state=State.IN_REVIEW)
    RelatedLink.objects.create(story=story, title="Calendar end coverage", published_at=published_at)

    pages = get_all(reader, [*every_reader_url(topic, provider, story), odd.get_absolute_url()])

    assert "Calendar end story" in pages[reverse("stories:home")]
    assert "Calendar end story" in pages[reverse("stories:feed_atom")]
    assert "Calendar end coverage" in pages[story.get_absolute_url()]
    queue = moderator_client.get(reverse("moderation:queue"))
    assert queue.status_code == 200
    assert "Calendar end queued" in queue.content.decode()


def test_control_characters_in_titles_and_names_do_not_break_the_feeds(reader, good):
    topic, provider, story = good
    odd_provider = make_provider(name="Bell\x07 Press", domain="bell.example")
    odd_topic = make_topic("Form\x0cfeed")
    make_story(title="Null\x01 and bell\x07 story", topics=[topic, odd_topic], provider=odd_provider)

    pages = get_all(reader, every_reader_url(topic, provider, story))

    assert "Null and bell story" in pages[reverse("stories:feed_rss")]
    assert "Null and bell story" in pages[reverse("stories:feed_atom")]
    assert "Bell Press" in pages[reverse("stories:feed_atom")]
    assert "Formfeed" in pages[reverse("stories:feed_rss")]


def test_unreadable_thumbnail_records_fall_back_to_no_image(reader, moderator_client, good, caplog):
    topic, provider, story = good
    odd = make_story(title="Broken thumbnails story", topics=[topic], provider=provider)
    queued = make_story(title="Broken thumbnails queued", state=State.IN_REVIEW)
    for owner in (odd, queued):
        Image.objects.filter(story=owner).update(
            cache_status=Image.CacheStatus.CACHED, thumbnails={"sizes": [{"width": "wide"}]}
        )

    with caplog.at_level(logging.WARNING, logger="stories.reader"):
        pages = get_all(reader, [*every_reader_url(topic, provider, story), odd.get_absolute_url()])
        queue = moderator_client.get(reverse("moderation:queue"))

    assert "Broken thumbnails story" in pages[reverse("stories:home")]
    assert queue.status_code == 200
    assert "Broken thumbnails queued" in queue.content.decode()
    assert f"(story {odd.pk}): thumbnails record unreadable" in caplog.text


# --- Dates Python cannot hold (PostgreSQL only) ------------------------------------------------


def set_raw_timestamp(queryset, field: str, literal: str) -> None:
    """What an old import left behind: a timestamp PostgreSQL holds and Python cannot."""
    queryset.update(**{field: RawSQL("%s::timestamptz", [literal])})


@on_postgres
@pytest.mark.parametrize("literal", ["10000-01-01 01:00:00+00", "0001-12-31 23:30:00+00 BC"])
@pytest.mark.parametrize("field", ["published_at", "go_live_at", "expire_at"])
def test_a_live_story_with_a_date_python_cannot_hold_is_left_out_and_logged(
    reader, good, caplog, literal, field
):
    topic, provider, story = good
    odd = make_story(title="Out of calendar story", topics=[topic], provider=provider)
    set_raw_timestamp(Story.objects.filter(pk=odd.pk), field, literal)

    with caplog.at_level(logging.ERROR, logger="stories.reader"):
        reader_version.bump()  # as the import that left the date behind did: it is reported then
        pages = get_all(reader, every_reader_url(topic, provider, story))
        assert reader.get(reverse("stories:detail", kwargs={"pk": odd.pk})).status_code == 404

    for url, body in pages.items():
        assert "Out of calendar story" not in body, url
    assert "Ordinary story" in pages[reverse("stories:home")]
    assert "Ordinary story" in pages[reverse("stories:feed_rss")]
    assert story.get_absolute_url() in pages[reverse("sitemap_section", kwargs={"section": "stories"})]
    assert f"story {odd.pk} left out of reader pages" in caplog.text


@on_postgres
def test_staff_preview_of_a_story_with_such_a_date_is_404_not_500(client, editor, good):
    odd = make_story(title="Out of calendar preview", state=State.DRAFT)
    set_raw_timestamp(Story.objects.filter(pk=odd.pk), "published_at", "10000-01-01 01:00:00+00")
    client.force_login(editor)

    assert client.get(reverse("stories:detail", kwargs={"pk": odd.pk})).status_code == 404


@on_postgres
def test_the_queue_leaves_out_a_story_with_such_a_date_and_names_it(moderator_client, caplog):
    make_story(title="Ordinary queued story", state=State.IN_REVIEW)
    odd = make_story(title="Out of calendar queued", state=State.IN_REVIEW)
    set_raw_timestamp(Story.objects.filter(pk=odd.pk), "published_at", "0001-12-31 23:30:00+00 BC")

    with caplog.at_level(logging.ERROR, logger="stories.moderation.views"):
        for query in ("", "?sort=oldest", "?sort=quality", "?published_before=2100-01-01"):
            response = moderator_client.get(reverse("moderation:queue") + query)
            assert response.status_code == 200, query
            body = response.content.decode()
            assert "Ordinary queued story" in body, query
            assert "Out of calendar queued" not in body, query
            assert f"(ids {odd.pk})" in body, query
    assert f"story {odd.pk} left out of the moderation queue" in caplog.text


@on_postgres
def test_the_admin_leaves_out_a_story_with_such_a_date_and_names_it(moderator_client, caplog):
    import_run = ImportRun.objects.create(via=ImportRun.Via.COMMAND)
    ordinary = make_story(title="Ordinary admin story")
    odd = make_story(title="Out of calendar admin story", provider=ordinary.provider)
    ImportRunStory.objects.create(run=import_run, story=odd, path="odd.md", outcome="created")
    workflow.update_editorial(odd, actor=None, quality=7)  # an audit entry for the trail
    set_raw_timestamp(Story.objects.filter(pk=odd.pk), "published_at", "10000-01-01 01:00:00+00")
    changelist = reverse("admin:stories_story_changelist")

    with caplog.at_level(logging.ERROR, logger="stories.admin.story"):
        listing = moderator_client.get(changelist)
        searched = moderator_client.get(changelist + "?q=calendar")
    change = moderator_client.get(reverse("admin:stories_story_change", args=[odd.pk]))

    for response in (listing, searched):
        body = html.unescape(response.content.decode())
        assert response.status_code == 200
        assert "Out of calendar admin story" not in body
        assert f"cannot be shown or changed here (ids {odd.pk})" in body
    assert "Ordinary admin story" in listing.content.decode()
    assert change.status_code == 302  # Django's "does not exist", not a server error
    assert f"story {odd.pk} left out of the admin" in caplog.text
    for url in (
        reverse("admin:stories_auditentry_changelist"),
        reverse("admin:stories_importrun_change", args=[import_run.pk]),
        reverse("admin:providers_provider_change", args=[ordinary.provider.pk]),
    ):
        response = moderator_client.get(url)
        assert response.status_code == 200, url
        assert "Out of calendar admin story" in response.content.decode(), url


@on_postgres
def test_related_coverage_with_such_a_date_is_left_out_of_the_story_page(reader, good):
    topic, provider, story = good
    RelatedLink.objects.create(story=story, title="Readable coverage", quality=10)
    odd = RelatedLink.objects.create(story=story, title="Out of calendar coverage", quality=90)
    set_raw_timestamp(RelatedLink.objects.filter(pk=odd.pk), "published_at", "10000-01-01 01:00:00+00")

    response = reader.get(story.get_absolute_url())

    assert response.status_code == 200
    assert "Readable coverage" in response.content.decode()
    assert "Out of calendar coverage" not in response.content.decode()


@on_postgres
def test_topics_of_an_unreadable_story_do_not_reach_the_filters_or_sitemaps(reader, good):
    topic, provider, story = good
    lonely = make_topic("Only on the odd story")
    lone_provider = make_provider(domain="lone.example")
    odd = make_story(title="Out of calendar story", topics=[lonely], provider=lone_provider)
    set_raw_timestamp(Story.objects.filter(pk=odd.pk), "published_at", "10000-01-01 01:00:00+00")
    assert StoryTopic.objects.filter(topic=lonely).exists()

    home = reader.get(reverse("stories:home")).content.decode()
    topics = reader.get(reverse("sitemap_section", kwargs={"section": "topics"})).content.decode()

    assert "Only on the odd story" not in home
    assert lonely.slug not in topics
    assert reader.get(lonely.get_absolute_url()).status_code == 404
    assert reader.get(reverse("stories:provider", kwargs={"domain": "lone.example"})).status_code == 404
