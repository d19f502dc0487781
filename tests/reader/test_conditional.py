"""Listings, feeds, sitemaps and story pages answer conditional GETs in constant time, from the
reader version, and stop answering 304 when what readers see changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stories import workflow
from stories.models import ReaderVersion, State, Story
from tests.browser_forms import form_data
from tests.conftest import make_story, make_topic

pytestmark = pytest.mark.django_db


def listing_urls(topic) -> list[str]:
    return [
        reverse("stories:home"),
        reverse("stories:home") + "?sort=hot",
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:feed_rss"),
        reverse("stories:feed_atom"),
        reverse("stories:topic_atom", kwargs={"slug": topic.slug}),
        reverse("sitemap"),
        reverse("sitemap_section", kwargs={"section": "stories"}),
    ]


def settle() -> None:
    """What readers see last changed a day ago. Last-Modified counts whole seconds: a change in
    the same second as the page would not show by date (its ETag shows it)."""
    ReaderVersion.objects.update(changed_at=timezone.now() - timedelta(days=1))
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """The block's transaction commits: what it registered with ``on_commit`` runs."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_listings_feeds_and_sitemaps_answer_if_none_match_with_304(reader):
    topic = make_topic("News")
    make_story(topics=[topic])

    for url in listing_urls(topic):
        first = reader.get(url)
        assert first.status_code == 200, url
        assert first["ETag"], url
        again = reader.get(url, headers={"If-None-Match": first["ETag"]})
        assert again.status_code == 304, url
        assert again.content == b""


def test_listings_feeds_and_sitemaps_answer_if_modified_since_with_304(reader):
    topic = make_topic("News")
    make_story(topics=[topic])

    for url in listing_urls(topic):
        first = reader.get(url)
        assert first["Last-Modified"], url
        again = reader.get(url, headers={"If-Modified-Since": first["Last-Modified"]})
        assert again.status_code == 304, url


def test_a_304_on_home_takes_one_query_with_a_cold_cache_and_none_with_a_warm_one(
    reader, django_assert_max_num_queries, django_assert_num_queries
):
    for _ in range(30):
        make_story()
    etag = reader.get(reverse("stories:home"))["ETag"]

    cache.clear()
    with django_assert_max_num_queries(1):
        assert reader.get(reverse("stories:home"), headers={"If-None-Match": etag}).status_code == 304
    with django_assert_num_queries(0):
        assert reader.get(reverse("stories:home"), headers={"If-None-Match": etag}).status_code == 304


def test_feeds_and_sitemaps_answer_304_without_a_query_once_the_cache_is_warm(
    reader, django_assert_num_queries
):
    topic = make_topic("News")
    make_story(topics=[topic])
    etags = {url: reader.get(url)["ETag"] for url in listing_urls(topic)}

    with django_assert_num_queries(0):
        for url, etag in etags.items():
            assert reader.get(url, headers={"If-None-Match": etag}).status_code == 304, url


def test_the_story_page_answers_304_from_the_story_alone_before_rendering(
    reader, django_assert_max_num_queries
):
    story = make_story(related=3, topics=[make_topic("A"), make_topic("B")])
    url = reverse("stories:detail", args=[story.pk])
    first = reader.get(url)
    assert first["ETag"] and first["Last-Modified"]

    with django_assert_max_num_queries(1):
        assert reader.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304
    cache.clear()
    with django_assert_max_num_queries(2):
        assert reader.get(url, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 304


def test_an_edit_of_the_story_changes_its_page_etag_and_not_another_storys(reader, moderator, committed):
    story, other = make_story(title="Edited"), make_story(title="Untouched")
    urls = {s.pk: reverse("stories:detail", args=[s.pk]) for s in (story, other)}
    etags = {pk: reader.get(url)["ETag"] for pk, url in urls.items()}

    with committed():
        workflow.update_editorial(
            Story.objects.with_cards().get(pk=story.pk), actor=moderator, content={"title": "Corrected"}
        )

    changed = reader.get(urls[story.pk], headers={"If-None-Match": etags[story.pk]})
    assert changed.status_code == 200
    assert "Corrected" in changed.content.decode()
    assert reader.get(urls[other.pk], headers={"If-None-Match": etags[other.pk]}).status_code == 304


def test_renaming_a_topic_changes_the_etag_of_the_pages_of_its_stories(reader, moderator, committed):
    topic = make_topic("Old name")
    story = make_story(topics=[topic])
    url = reverse("stories:detail", args=[story.pk])
    etag = reader.get(url)["ETag"]
    moderator_client = Client()
    moderator_client.force_login(moderator)
    change = reverse("admin:stories_topic_change", args=[topic.pk])

    with committed():
        page = moderator_client.get(change).content.decode()
        moderator_client.post(change, form_data(page, "topic_form", name="New name", slug="new-name"))

    response = reader.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "New name" in response.content.decode()


def test_a_staff_preview_gets_no_validators(client, editor):
    story = make_story(state=State.DRAFT)
    client.force_login(editor)

    response = client.get(reverse("stories:detail", args=[story.pk]))

    assert response.status_code == 200
    assert "Last-Modified" not in response
    assert "no-store" in response["Cache-Control"]


def test_a_newly_published_story_changes_the_etag(reader, moderator, committed):
    story = make_story(title="First")
    waiting = make_story(title="Waiting", state=State.IN_REVIEW)
    etag = reader.get(reverse("stories:home"))["ETag"]

    with committed():
        workflow.transition(waiting, action=workflow.PUBLISH, actor=moderator)

    response = reader.get(reverse("stories:home"), headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Waiting" in response.content.decode()
    assert story.title in response.content.decode()


@pytest.fixture
def clock(monkeypatch):
    """``clock.move(delta)``: from then on, ``timezone.now()`` is that much later."""

    class Clock:
        def move(self, delta: timedelta) -> None:
            later = timezone.now() + delta
            monkeypatch.setattr(timezone, "now", lambda: later)

    return Clock()


def test_expiry_passing_without_any_save_changes_the_validators(reader, moderator, committed, clock):
    make_story(title="Stays")
    leaving = make_story(title="Leaving", state=State.IN_REVIEW)
    with committed():
        workflow.transition(
            leaving, action=workflow.PUBLISH, actor=moderator, expire_at=timezone.now() + timedelta(hours=1)
        )
    first = reader.get(reverse("stories:feed_rss"))
    assert b"Leaving" in first.content

    clock.move(timedelta(hours=2))  # no save: nothing but the clock moves

    by_etag = reader.get(reverse("stories:feed_rss"), headers={"If-None-Match": first["ETag"]})
    assert by_etag.status_code == 200
    assert b"Leaving" not in by_etag.content
    by_date = reader.get(reverse("stories:feed_rss"), headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 200
    assert b"Leaving" not in by_date.content


def test_go_live_passing_without_any_save_changes_the_validators(reader, moderator, committed, clock):
    make_story(title="Already live")
    arriving = make_story(title="Arriving", state=State.IN_REVIEW)
    with committed():
        workflow.transition(
            arriving, action=workflow.PUBLISH, actor=moderator, go_live_at=timezone.now() + timedelta(hours=1)
        )
    first = reader.get(reverse("stories:home"))
    assert "Arriving" not in first.content.decode()

    clock.move(timedelta(hours=2))

    by_date = reader.get(reverse("stories:home"), headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 200
    assert "Arriving" in by_date.content.decode()


def test_editing_a_story_readers_cannot_see_leaves_the_validators_alone(reader, moderator, committed):
    make_story(title="Live story")
    hidden = Story.objects.with_cards().get(pk=make_story(title="Draft in the works", state=State.DRAFT).pk)
    urls = [reverse("stories:home"), reverse("stories:feed_rss"), reverse("sitemap")]
    first = {url: reader.get(url) for url in urls}

    with committed():
        workflow.update_editorial(hidden, actor=moderator, content={"title": "Draft, rewritten"})

    for url, response in first.items():
        assert reader.get(url, headers={"If-None-Match": response["ETag"]}).status_code == 304, url
        by_date = reader.get(url, headers={"If-Modified-Since": response["Last-Modified"]})
        assert by_date.status_code == 304, url


def test_an_editors_admin_edit_of_a_story_in_review_leaves_the_public_validators_alone(editor, committed):
    reader, staff = Client(), Client()
    staff.force_login(editor)
    make_story(title="Live story")
    hidden = make_story(title="In review", state=State.IN_REVIEW)
    urls = [reverse("stories:home"), reverse("stories:feed_atom"), reverse("sitemap")]
    first = {url: reader.get(url) for url in urls}
    change = reverse("admin:stories_story_change", args=[hidden.pk])

    with committed():
        staff.post(change, form_data(staff.get(change).content.decode(), "story_form", title="Rewritten"))

    assert Story.objects.get(pk=hidden.pk).title == "Rewritten"
    for url, response in first.items():
        assert reader.get(url, headers={"If-None-Match": response["ETag"]}).status_code == 304, url
        by_date = reader.get(url, headers={"If-Modified-Since": response["Last-Modified"]})
        assert by_date.status_code == 304, url


def test_withdrawing_a_live_story_moves_both_validators(reader, moderator, committed):
    make_story(title="Stays live")
    leaving = make_story(title="Withdrawn later")
    settle()
    first = reader.get(reverse("stories:home"))

    with committed():
        workflow.transition(leaving, action=workflow.UNPUBLISH, actor=moderator, comment="Wrong facts")

    by_etag = reader.get(reverse("stories:home"), headers={"If-None-Match": first["ETag"]})
    assert by_etag.status_code == 200
    assert "Withdrawn later" not in by_etag.content.decode()
    by_date = reader.get(reverse("stories:home"), headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 200
    assert "Withdrawn later" not in by_date.content.decode()
