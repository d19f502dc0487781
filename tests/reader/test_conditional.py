"""Listings and feeds answer conditional GETs, and stop answering 304 when the live set changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stories import workflow
from stories.models import State, Story
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


def test_a_newly_published_story_changes_the_etag(reader):
    story = make_story(title="First")
    make_story(title="Waiting", state=State.IN_REVIEW)
    etag = reader.get(reverse("stories:home"))["ETag"]

    Story.objects.filter(title="Waiting").update(state=State.PUBLISHED, updated_at=timezone.now())

    response = reader.get(reverse("stories:home"), headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Waiting" in response.content.decode()
    assert story.title in response.content.decode()


def test_expiry_passing_without_any_save_changes_the_validators(reader):
    make_story(title="Stays")
    leaving = make_story(title="Leaving", expire_at=timezone.now() + timedelta(hours=1))
    Story.objects.update(updated_at=timezone.now() - timedelta(days=1))
    first = reader.get(reverse("stories:feed_rss"))
    assert b"Leaving" in first.content

    # The clock passes expire_at: no save, so updated_at does not move.
    Story.objects.filter(pk=leaving.pk).update(expire_at=timezone.now() - timedelta(seconds=1))

    by_etag = reader.get(reverse("stories:feed_rss"), headers={"If-None-Match": first["ETag"]})
    assert by_etag.status_code == 200
    assert b"Leaving" not in by_etag.content
    by_date = reader.get(reverse("stories:feed_rss"), headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 200
    assert b"Leaving" not in by_date.content


def test_go_live_passing_without_any_save_changes_the_validators(reader):
    make_story(title="Already live")
    arriving = make_story(title="Arriving", go_live_at=timezone.now() + timedelta(hours=1))
    Story.objects.update(updated_at=timezone.now() - timedelta(days=1))
    first = reader.get(reverse("stories:home"))
    assert "Arriving" not in first.content.decode()

    Story.objects.filter(pk=arriving.pk).update(go_live_at=timezone.now() - timedelta(seconds=1))

    by_date = reader.get(reverse("stories:home"), headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 200
    assert "Arriving" in by_date.content.decode()


def test_editing_a_story_readers_cannot_see_leaves_the_validators_alone(reader):
    make_story(title="Live story")
    hidden = make_story(title="Draft in the works", state=State.DRAFT)
    Story.objects.update(updated_at=timezone.now() - timedelta(days=1))
    urls = [reverse("stories:home"), reverse("stories:feed_rss"), reverse("sitemap")]
    first = {url: reader.get(url) for url in urls}

    hidden.title = "Draft, rewritten"
    hidden.save()

    for url, response in first.items():
        assert reader.get(url, headers={"If-None-Match": response["ETag"]}).status_code == 304, url
        by_date = reader.get(url, headers={"If-Modified-Since": response["Last-Modified"]})
        assert by_date.status_code == 304, url


def test_an_editors_admin_edit_of_a_story_in_review_leaves_the_public_validators_alone(editor):
    reader, staff = Client(), Client()
    staff.force_login(editor)
    make_story(title="Live story")
    hidden = make_story(title="In review", state=State.IN_REVIEW)
    Story.objects.update(updated_at=timezone.now() - timedelta(days=1))
    urls = [reverse("stories:home"), reverse("stories:feed_atom"), reverse("sitemap")]
    first = {url: reader.get(url) for url in urls}
    change = reverse("admin:stories_story_change", args=[hidden.pk])

    staff.post(change, form_data(staff.get(change).content.decode(), "story_form", title="Rewritten"))

    assert Story.objects.get(pk=hidden.pk).title == "Rewritten"
    for url, response in first.items():
        assert reader.get(url, headers={"If-None-Match": response["ETag"]}).status_code == 304, url
        by_date = reader.get(url, headers={"If-Modified-Since": response["Last-Modified"]})
        assert by_date.status_code == 304, url


def test_withdrawing_a_live_story_moves_both_validators(reader, moderator):
    make_story(title="Stays live")
    leaving = make_story(title="Withdrawn later")
    Story.objects.update(updated_at=timezone.now() - timedelta(days=1))
    first = reader.get(reverse("stories:home"))

    workflow.transition(leaving, action=workflow.UNPUBLISH, actor=moderator, comment="Wrong facts")

    by_etag = reader.get(reverse("stories:home"), headers={"If-None-Match": first["ETag"]})
    assert by_etag.status_code == 200
    assert "Withdrawn later" not in by_etag.content.decode()
    by_date = reader.get(reverse("stories:home"), headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 200
    assert "Withdrawn later" not in by_date.content.decode()
