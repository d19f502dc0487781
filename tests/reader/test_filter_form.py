"""The reader filter form stays small: providers typed with suggestions, topics bounded, types fixed
by the data; the home page under 60 KB with thousands of providers and hundreds of topics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from providers.models import Provider
from stories.filters import CHOICES_SHOWN
from stories.models import State, Story, StoryTopic, Topic
from stories.reader.filters import live_types
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

HOME_MAX_BYTES = 60_000


def titles(response) -> list[str]:
    return sorted(story.title for story in response.context["stories"])


def test_home_stays_under_60_kb_with_5000_providers_and_400_topics(reader):
    now = timezone.now()
    providers = Provider.objects.bulk_create(
        Provider(name=f"Publisher number {n} of the wide world", domain=f"publisher-{n}.example")
        for n in range(5_000)
    )
    topics = Topic.objects.bulk_create(
        Topic(name=f"A rather long topic name {n}", slug=f"topic-{n}") for n in range(400)
    )
    stories = Story.objects.bulk_create(
        Story(
            identity_key=f"{n:064d}",
            title=f"Story {n}",
            excerpt="An excerpt.",
            provider=provider,
            provider_name=provider.name,
            web_url=f"https://{provider.domain}/{n}",
            type=("article", "video", "podcast")[n % 3],
            state=State.PUBLISHED,
            published_at=now - timedelta(minutes=n),
        )
        for n, provider in enumerate(providers)
    )
    StoryTopic.objects.bulk_create(
        StoryTopic(story=story, topic=topics[n % len(topics)], position=0) for n, story in enumerate(stories)
    )

    response = reader.get(reverse("stories:home"))
    body = response.content.decode()

    assert response.status_code == 200
    assert len(response.content) < HOME_MAX_BYTES, len(response.content)
    assert body.count('type="checkbox" name="topic"') == CHOICES_SHOWN
    assert body.count("publisher-") <= 2 * 20 + 10  # the cards' links only, no option per provider
    assert '<option value="podcast">Podcast</option>' in body


def test_provider_is_typed_by_domain_or_name(reader):
    paper = make_provider(name="Morning Paper", domain="paper.example")
    make_story(title="Paper story", provider=paper)
    make_story(title="Other story")

    for value in ("paper.example", "PAPER.example", "morning paper"):
        response = reader.get(reverse("stories:home"), {"provider": value})
        assert titles(response) == ["Paper story"], value
        assert 'value="paper.example"' in response.content.decode()


def test_a_provider_without_live_stories_cannot_be_chosen_or_suggested(reader):
    hidden = make_provider(name="Hidden Herald", domain="hidden.example")
    make_story(title="Draft", state=State.DRAFT, provider=hidden)
    make_story(title="Live")

    response = reader.get(reverse("stories:home"), {"provider": "hidden.example"})
    suggested = reader.get(reverse("stories:suggest_providers"), {"q": "hid"}).json()

    assert "Nothing is called" in response.content.decode()
    assert response.context["stories"] == [] or list(response.context["stories"]) == []
    assert suggested == {"results": []}


def test_provider_suggestions_are_live_providers_by_prefix(reader):
    for name, domain in (("Harbour Times", "harbour.example"), ("Hartford Post", "hartford.example")):
        make_story(provider=make_provider(name=name, domain=domain))
    make_story(provider=make_provider(name="Other", domain="harbinger.example"), state=State.IN_REVIEW)
    make_story(provider=make_provider(name="Nope", domain="nope.example"))

    results = reader.get(reverse("stories:suggest_providers"), {"q": "HAR"}).json()["results"]

    assert results == [
        {"value": "harbour.example", "label": "Harbour Times (harbour.example)"},
        {"value": "hartford.example", "label": "Hartford Post (hartford.example)"},
    ]


def test_topic_suggestions_are_live_topics_by_prefix(reader):
    make_story(topics=[make_topic("Climate change")])
    make_story(topics=[make_topic("Climbing")], state=State.DRAFT)
    make_story(topics=[make_topic("Cooking")])

    results = reader.get(reverse("stories:suggest_topics"), {"q": "cli"}).json()["results"]

    assert results == [{"value": "Climate change", "label": "Climate change"}]


def test_suggestions_need_a_prefix_and_answer_get_only(reader):
    make_story(provider=make_provider(name="Anything"))

    assert reader.get(reverse("stories:suggest_providers")).json() == {"results": []}
    assert reader.get(reverse("stories:suggest_providers"), {"q": "   "}).json() == {"results": []}
    assert reader.post(reverse("stories:suggest_providers"), {"q": "any"}).status_code == 405


def test_a_topic_typed_by_name_filters_and_shows_checked(reader):
    common = [make_topic(f"Common {n:03d}") for n in range(CHOICES_SHOWN + 3)]
    for topic in common:
        make_story(topics=[topic], images=0)
        make_story(topics=[topic], images=0)
    rare = make_topic("Very rare topic")
    make_story(title="The rare one", topics=[rare], images=0)

    response = reader.get(reverse("stories:home"), {"topic": ["very RARE topic", ""]})
    body = response.content.decode()

    assert titles(response) == ["The rare one"]
    assert f'value="{rare.slug}"' in body and "checked" in body
    assert 'data-suggest="/suggest/topics/"' in body


def test_an_unknown_typed_topic_is_reported(reader):
    make_story(topics=[make_topic("Real")])

    response = reader.get(reverse("stories:home"), {"topic": "Imaginary"})

    assert "Select a valid choice" in response.content.decode()


def test_live_types_are_read_without_a_distinct_scan():
    make_story(type="video")
    make_story(type="article")
    make_story(type="podcast", state=State.IN_REVIEW)
    make_story(type="audio", go_live_at=timezone.now() + timedelta(days=1))

    with CaptureQueriesContext(connection) as captured:
        types = live_types()

    assert types == [("article", "Article"), ("video", "Video")]
    assert len(captured.captured_queries) == 2
    assert not any("DISTINCT" in q["sql"] for q in captured.captured_queries)


def test_the_form_loads_its_script_from_a_file(reader):
    make_story()

    body = reader.get(reverse("stories:home")).content.decode()

    assert '<script src="/static/newsroom/suggest.js" defer></script>' in body
    assert '<datalist id="id_provider-suggestions"></datalist>' in body
    assert 'list="id_provider-suggestions"' in body
