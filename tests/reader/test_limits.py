"""Reader pages never render an unbounded list: topics, related coverage and filter choices stop early."""

from __future__ import annotations

import pytest
from django.urls import reverse

from providers.models import Provider
from stories.filters import CHOICES_SHOWN
from stories.models import RelatedLink, StoryTopic, Topic
from stories.reader.views import COVERAGE_PER_STORY, TOPICS_PER_CARD, TOPICS_PER_STORY
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

FLOOD = 10_000
# A page of ordinary stories weighs a few tens of kilobytes; the flood must not add to it.
MAX_PAGE_BYTES = 150_000


def flood_topics(story, count: int) -> None:
    topics = Topic.objects.bulk_create(
        Topic(name=f"Flood topic {n:05d}", slug=f"flood-{n}") for n in range(count)
    )
    StoryTopic.objects.bulk_create(
        StoryTopic(story=story, topic=topic, position=n) for n, topic in enumerate(topics)
    )


def flood_coverage(story, count: int) -> None:
    RelatedLink.objects.bulk_create(
        RelatedLink(
            story=story, position=n, title=f"Flood link {n}", web_url=f"https://c{n}.example/", quality=n%100
        )
        for n in range(count)
    )


@pytest.fixture
def flooded():
    provider = make_provider(domain="flood.example")
    story = make_story(title="Flooded story", provider=provider)
    flood_topics(story, FLOOD)
    flood_coverage(story, 2_000)
    make_story(title="Neighbour story", topics=[Topic.objects.get(slug="flood-0")])
    return story, provider


def test_a_story_with_ten_thousand_topics_keeps_every_reader_page_small(reader, flooded):
    story, provider = flooded
    urls = [
        reverse("stories:home"),
        reverse("stories:search") + "?q=story",
        reverse("stories:topic", kwargs={"slug": "flood-0"}),
        reverse("stories:provider", kwargs={"domain": provider.domain}),
        story.get_absolute_url(),
        reverse("stories:feed_rss"),
        reverse("stories:feed_atom"),
        reverse("stories:topic_rss", kwargs={"slug": "flood-0"}),
        reverse("stories:provider_atom", kwargs={"domain": provider.domain}),
    ]
    for url in urls:
        response = reader.get(url)
        assert response.status_code == 200, url
        assert len(response.content) < MAX_PAGE_BYTES, (url, len(response.content))
        # Search results mark the words found.
        assert "Flooded story" in response.content.decode().replace("<mark>", "").replace("</mark>", ""), url


def test_a_card_shows_its_first_topics_and_counts_the_rest(reader, flooded):
    page = reader.get(reverse("stories:home")).content.decode()
    body = page[page.index('<ol class="story-list">'):]

    assert "Flood topic 00000" in body
    assert f"Flood topic {TOPICS_PER_CARD - 1:05d}" in body
    assert f"Flood topic {TOPICS_PER_CARD:05d}" not in body
    assert f"and {FLOOD - TOPICS_PER_CARD} more" in body
    assert "Neighbour story" in body


def test_a_story_page_shows_its_first_topics_and_best_coverage_and_counts_the_rest(reader, flooded):
    story, _ = flooded

    body = reader.get(story.get_absolute_url()).content.decode()

    assert f"and {FLOOD - TOPICS_PER_STORY} more" in body
    assert body.count('property="article:tag"') == TOPICS_PER_STORY
    assert body.count("Flood link ") == COVERAGE_PER_STORY
    assert "Flood link 99<" in body  # quality 99: among the best
    assert "Flood link 0<" not in body  # quality 0: not
    assert f"And {2_000 - COVERAGE_PER_STORY} more links not shown." in body


def test_a_feed_item_carries_its_first_topics_only(reader, flooded):
    body = reader.get(reverse("stories:feed_rss")).content.decode()
    flooded_item = next(item for item in body.split("<item>") if "Flooded story" in item)

    assert flooded_item.count("<category>") == TOPICS_PER_CARD


def test_filter_choices_offer_the_most_used_topics_and_providers_only(reader):
    popular = make_topic("Popular topic")
    big = make_provider(name="Big provider", domain="big.example")
    for _ in range(3):
        make_story(topics=[popular], provider=big)
    rare_topics = [make_topic(f"Rare topic {n:03d}") for n in range(CHOICES_SHOWN + 20)]
    for topic in rare_topics:
        make_story(topics=[topic], images=0)

    body = reader.get(reverse("stories:home")).content.decode()
    form = body[body.index('<section class="filters"') : body.index("</section>")]

    assert form.count('type="checkbox" name="topic"') == CHOICES_SHOWN
    assert "Popular topic" in form
    # Providers are typed (with suggestions), never listed.
    assert "Big provider" not in form
    assert form.count("<option value=") <= 20
    assert Provider.objects.count() > CHOICES_SHOWN


def test_a_topic_outside_the_choices_shown_can_still_be_chosen(reader):
    for n in range(CHOICES_SHOWN + 5):
        topic = make_topic(f"Common {n:03d}")
        make_story(topics=[topic], images=0)
        make_story(topics=[topic], images=0)
    rare = make_topic("Very rare topic")
    make_story(title="The rare one", topics=[rare], images=0)

    plain = reader.get(reverse("stories:home")).content.decode()
    chosen = reader.get(reverse("stories:home") + f"?topic={rare.slug}").content.decode()

    assert "Very rare topic" not in plain
    assert "The rare one" in chosen
    assert f'value="{rare.slug}"' in chosen and "checked" in chosen
    assert "Please check your filters" not in chosen
