"""Query counts of reader pages do not grow with page size, page depth, table size, topics, images or
related links."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from stories.reader.pagination import COUNT_LIMIT, NUMBERED_PAGES
from tests.conftest import make_provider, make_story, make_topic
from tests.reader.generated import generate_stories

pytestmark = pytest.mark.django_db

# Bounds that hold for a page of 2 stories and for a full page of 20+ stories
# with several topics, images and related links each. Listings and feeds include
# the two queries of their validators (the live set, the last withdrawal).
LISTING_MAX_QUERIES = 11
# A search also reads its candidates' ids and the highlights of the shown page.
SEARCH_MAX_QUERIES = LISTING_MAX_QUERIES + 2
STORY_MAX_QUERIES = 8
FEED_MAX_QUERIES = 7


def populate(count: int, *, rich: bool):
    topics = [make_topic(f"Topic {n}") for n in range(4 if rich else 1)]
    provider = make_provider(domain=f"p{count}{int(rich)}.example")
    for n in range(count):
        make_story(
            title=f"Volcano story {n}",
            provider=provider if n % 2 else None,
            topics=topics if rich else topics[:1],
            images=3 if rich else 1,
            related=4 if rich else 0,
        )
    return topics[0], provider


def pages(topic, provider) -> list[str]:
    return [
        reverse("stories:home"),
        reverse("stories:home") + "?sort=hot&topic=" + topic.slug,
        reverse("stories:search") + "?q=volcano",
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:provider", kwargs={"domain": provider.domain}),
        reverse("stories:feed_rss"),
        reverse("stories:feed_atom"),
        reverse("stories:topic_rss", kwargs={"slug": topic.slug}),
        reverse("stories:provider_atom", kwargs={"domain": provider.domain}),
    ]


def query_counts(reader, urls) -> dict[str, int]:
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(url).status_code == 200, url
        counts[url] = len(captured.captured_queries)
    return counts


@pytest.mark.parametrize(("count", "rich"), [(2, False), (45, True)])
def test_listing_and_feed_queries_are_bounded(reader, django_assert_max_num_queries, count, rich):
    topic, provider = populate(count, rich=rich)

    for url in pages(topic, provider):
        bound = FEED_MAX_QUERIES if "rss" in url or "atom" in url else LISTING_MAX_QUERIES
        if "q=" in url:
            bound = SEARCH_MAX_QUERIES
        with django_assert_max_num_queries(bound):
            reader.get(url)


def test_listing_queries_do_not_grow_from_a_small_to_a_full_page(reader):
    small_topic, small_provider = populate(2, rich=False)
    small = query_counts(reader, pages(small_topic, small_provider))
    big_topic, big_provider = populate(45, rich=True)
    # Same kinds of page, now with full pages of richer stories.
    big = query_counts(reader, pages(big_topic, big_provider))

    assert list(small.values()) == list(big.values())


@pytest.mark.parametrize(("topics", "related", "images"), [(1, 1, 1), (5, 30, 4)])
def test_story_page_queries_are_bounded(reader, django_assert_max_num_queries, topics, related, images):
    story = make_story(topics=[make_topic(f"T{n}") for n in range(topics)], related=related, images=images)

    with django_assert_max_num_queries(STORY_MAX_QUERIES):
        response = reader.get(story.get_absolute_url())
    assert response.status_code == 200


# The sitemap index: its validators, the latest change (for the index and for the home file), and
# one probe per file plus one for each of the three sections (one file each below 50,000 ids).
SITEMAP_INDEX_MAX_QUERIES = 10
SITEMAP_FILE_MAX_QUERIES = 5


def generated_listing(count: int):
    topic = make_topic(f"Generated {count}")
    provider = make_provider(domain=f"generated{count}.example")
    generate_stories(count, provider=provider, topic=topic)
    return topic, provider


def deep_pages(reader, topic, provider) -> list[str]:
    """For each listing: its first page, its last numbered page, a page by cursor each way."""
    listings = [
        reverse("stories:home"),
        reverse("stories:home") + "?sort=hot",
        reverse("stories:home") + "?sort=top",
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:provider", kwargs={"domain": provider.domain}),
    ]
    urls = []
    for listing in listings:
        path = listing.split("?")[0]
        numbered = listing + ("&" if "?" in listing else "?") + f"page={NUMBERED_PAGES}"
        older = path + "?" + reader.get(numbered).context["page_obj"].older
        newer = path + "?" + reader.get(older).context["page_obj"].newer
        urls += [listing, numbered, older, newer]
    return urls


def sitemaps() -> list[str]:
    sections = ("home", "stories", "topics", "providers")
    return [reverse("sitemap")] + [reverse("sitemap_section", kwargs={"section": name}) for name in sections]


def test_deep_pages_and_sitemaps_cost_as_many_queries_on_a_small_and_a_larger_table(
    reader, django_assert_max_num_queries, settings
):
    settings.NEWSROOM_READER_CACHE_SECONDS = 0  # each page rendered every time it is asked for
    small = generated_listing(COUNT_LIMIT + 20)
    small_counts = query_counts(reader, deep_pages(reader, *small) + sitemaps())
    large = generated_listing(6 * COUNT_LIMIT)
    large_counts = query_counts(reader, deep_pages(reader, *large) + sitemaps())

    assert list(small_counts.values()) == list(large_counts.values())
    for url in deep_pages(reader, *large):
        with django_assert_max_num_queries(LISTING_MAX_QUERIES):
            assert reader.get(url).status_code == 200
    for url in sitemaps():
        with django_assert_max_num_queries(
            SITEMAP_INDEX_MAX_QUERIES if url == sitemaps()[0] else SITEMAP_FILE_MAX_QUERIES
        ):
            assert reader.get(url).status_code == 200
