"""Reader filters (django-filter) on the home page, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stories import workflow
from stories.models import State
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return sorted(story.title for story in response.context["stories"])


def test_several_topics_match_stories_in_any_of_them_once(reader):
    sport, art, food = make_topic("Sport"), make_topic("Art"), make_topic("Food")
    make_story(title="Sporty", topics=[sport])
    make_story(title="Arty", topics=[art])
    make_story(title="Both", topics=[sport, art])
    make_story(title="Tasty", topics=[food])

    response = reader.get(reverse("stories:home") + "?topic=sport&topic=art")

    assert titles(response) == ["Arty", "Both", "Sporty"]


def test_provider_filter(reader):
    paper = make_provider(domain="paper.example")
    make_story(title="Paper story", provider=paper)
    make_story(title="Other story")

    response = reader.get(reverse("stories:home") + "?provider=paper.example")

    assert titles(response) == ["Paper story"]


def test_type_filter(reader):
    make_story(title="Clip", type="video", web_url=None, original_url="https://v.example/1")
    make_story(title="Article")

    response = reader.get(reverse("stories:home") + "?type=video")

    assert titles(response) == ["Clip"]


def test_date_range_filter_includes_both_end_days(reader):
    def at(day: int):
        return datetime(2024, 3, day, 12, 0, tzinfo=UTC)

    for day in (1, 2, 3, 4, 5):
        make_story(title=f"March {day}", published_at=at(day))

    response = reader.get(reverse("stories:home") + "?published_after=2024-03-02&published_before=2024-03-04")

    assert titles(response) == ["March 2", "March 3", "March 4"]


def test_invalid_date_shows_a_clear_error_and_no_stories(reader):
    make_story(title="Anything")

    response = reader.get(reverse("stories:home") + "?published_after=not-a-date")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid date." in html
    assert "Please check your filters" in html
    assert "Anything" not in html


def test_unknown_topic_is_reported_not_ignored(reader):
    make_story(title="Anything", topics=[make_topic("Real")])

    response = reader.get(reverse("stories:home") + "?topic=made-up")

    assert "Select a valid choice" in response.content.decode()


def test_filter_choices_only_name_topics_and_providers_with_live_stories(reader):
    make_story(title="Live", topics=[make_topic("Public topic")], provider=make_provider(name="Public paper"))
    make_story(
        title="Draft", state=State.DRAFT, topics=[make_topic("Secret topic")],
        provider=make_provider(name="Secret paper"),
    )
    make_story(title="Scheduled", type="podcast", go_live_at=timezone.now() + timedelta(days=1))

    html = reader.get(reverse("stories:home")).content.decode()

    assert "Public topic" in html
    assert "Public paper" in html
    assert "Secret" not in html
    assert "Podcast" not in html


def test_filters_combine_with_sorting(reader):
    topic = make_topic("Markets")
    make_story(title="Calm", topics=[topic], heat=10)
    make_story(title="Busy", topics=[topic], heat=90)
    make_story(title="Off topic", heat=99)

    response = reader.get(reverse("stories:home") + "?topic=markets&sort=hot")

    assert [story.title for story in response.context["stories"]] == ["Busy", "Calm"]


def test_text_search_from_the_filter_form(reader):
    make_story(title="Volcano erupts in Iceland", excerpt="Lava flows.")
    make_story(title="Stock markets rally", excerpt="Shares up.")

    response = reader.get(reverse("stories:home") + "?q=volcano")

    assert titles(response) == ["Volcano erupts in Iceland"]


def test_filter_choices_follow_newly_published_stories(reader, django_capture_on_commit_callbacks):
    make_story(title="Old", topics=[make_topic("Old topic")])
    assert "Old topic" in reader.get(reverse("stories:home")).content.decode()
    waiting = make_story(title="New", state=State.IN_REVIEW, topics=[make_topic("Fresh topic")])
    assert "Fresh topic" not in reader.get(reverse("stories:home")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        workflow.transition(waiting, action=workflow.PUBLISH, actor=None)

    assert "Fresh topic" in reader.get(reverse("stories:home")).content.decode()
