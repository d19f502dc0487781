"""On a representative table, PostgreSQL answers every listing, feed and sitemap query from an index.

The test generates tens of thousands of stories in SQL (ties, missing dates and scores, stories
in review, scheduled and expired), analyses the tables, requests the pages, and asks PostgreSQL
for the plan of each query the listing, the feed and the sitemap ran: none reads the whole story
table.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from providers.models import Provider
from stories.models import Topic
from stories.reader import sitemaps
from stories.reader.feeds import LatestStoriesRss
from stories.reader.pagination import NUMBERED_PAGES, Listing

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL query plans"),
    pytest.mark.django_db,
]

# 20,000 stories of 300 providers (one of them has a tenth of all stories), two of 120 topics each.
GENERATE = """
INSERT INTO providers_provider (name, domain, logo_url, created_at)
SELECT 'Provider ' || n, 'provider' || n || '.example', '', now() FROM generate_series(1, 300) AS n;

INSERT INTO stories_topic (name, slug)
SELECT 'Topic ' || n, 'topic-' || n FROM generate_series(1, 120) AS n;

INSERT INTO stories_story (
    identity_key, category, title, excerpt, type, provider_name, featured_content, secured, body,
    layout, extra, state, state_comment, editor_touched, version, source_hash, superseded_hashes,
    created_at, updated_at, provider_id, published_at, heat, quality, go_live_at, expire_at)
SELECT lpad('plan' || n, 64, '0'), 'news', 'Story ' || n, 'Excerpt of story ' || n, 'article', 'Provider', '',
    '', '', '{}', '{}',
    CASE WHEN n % 20 = 0 THEN 'in_review' WHEN n % 29 = 0 THEN 'draft' ELSE 'published' END,
    '', '[]', 1, md5(n::text), '[]', now() - n * interval '7 minutes', now() - n * interval '5 minutes',
    (SELECT min(id) FROM providers_provider) + CASE WHEN n % 10 = 0 THEN 0 ELSE n % 300 END,
    CASE WHEN n % 97 = 0 THEN NULL ELSE now() - (n / 3) * interval '11 minutes' END,
    CASE WHEN n % 31 = 0 THEN NULL ELSE n % 100 END,
    CASE WHEN n % 37 = 0 THEN NULL ELSE (n * 7) % 100 END,
    CASE WHEN n % 53 = 0 THEN now() + interval '1 day' END,
    CASE WHEN n % 59 = 0 THEN now() - interval '1 day' END
FROM generate_series(1, 20000) AS n;

INSERT INTO stories_storytopic (story_id, topic_id, position)
SELECT story.id, first.id + (story.id + 7 * k) % 120, k
FROM stories_story AS story, (SELECT min(id) AS id FROM stories_topic) AS first, generate_series(0, 1) AS k;

ANALYZE providers_provider, stories_topic, stories_story, stories_storytopic;
"""


@pytest.fixture
def generated_table():
    with connection.cursor() as cursor:
        cursor.execute(GENERATE)
    return Topic.objects.order_by("pk").first(), Provider.objects.order_by("pk").first()


def record_queries(monkeypatch, log: list[str]) -> None:
    """Keep the SQL of the queries the listing, the feeds and the sitemaps run (not the page's others)."""

    def recorded(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            with CaptureQueriesContext(connection) as captured:
                result = function(*args, **kwargs)
            log.extend(query["sql"] for query in captured.captured_queries)
            return result

        return run

    monkeypatch.setattr(Listing, "page", recorded(Listing.page))
    monkeypatch.setattr(LatestStoriesRss, "items", recorded(LatestStoriesRss.items))
    monkeypatch.setattr(
        sitemaps.IdRangePaginator, "range_starts", recorded(sitemaps.IdRangePaginator.range_starts)
    )
    monkeypatch.setattr(sitemaps.IdRangePaginator, "page", recorded(sitemaps.IdRangePaginator.page))
    monkeypatch.setattr(sitemaps, "latest_live_change", recorded(sitemaps.latest_live_change))


@contextmanager
def queries_of(log: list[str]):
    start = len(log)
    queries: list[str] = []
    yield queries
    queries.extend(sql for sql in log[start:] if '"stories_story"' in sql)


def listing_urls(reader, topic, provider) -> list[str]:
    """Home, hot, top, a topic and a provider: the first page, a numbered page, a page by cursor each way."""
    urls = []
    for listing in (
        reverse("stories:home"),
        reverse("stories:home") + "?sort=hot",
        reverse("stories:home") + "?sort=top",
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:provider", kwargs={"domain": provider.domain}),
    ):
        path = listing.split("?")[0]
        numbered = listing + ("&" if "?" in listing else "?") + f"page={NUMBERED_PAGES}"
        older = path + "?" + reader.get(numbered).context["page_obj"].older
        for _ in range(3):  # deeper, while there is more
            page = reader.get(older).context["page_obj"]
            if page.older is None:
                break
            older = path + "?" + page.older
        newer = path + "?" + reader.get(older).context["page_obj"].newer
        urls += [listing, numbered, older, newer]
    return urls


def feed_and_sitemap_urls(topic, provider) -> list[str]:
    return [
        reverse("stories:feed_rss"),
        reverse("stories:topic_rss", kwargs={"slug": topic.slug}),
        reverse("stories:provider_atom", kwargs={"domain": provider.domain}),
        reverse("sitemap"),
        *(
            reverse("sitemap_section", kwargs={"section": name})
            for name in ("home", "stories", "topics", "providers")
        ),
    ]


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_listing_feed_and_sitemap_queries_use_indexes_on_a_large_table(
    reader, generated_table, monkeypatch, settings
):
    settings.NEWSROOM_READER_CACHE_SECONDS = 0  # every page runs its queries
    topic, provider = generated_table
    urls = listing_urls(reader, topic, provider) + feed_and_sitemap_urls(topic, provider)
    log: list[str] = []
    record_queries(monkeypatch, log)

    checked = 0
    for url in urls:
        with queries_of(log) as queries:
            assert reader.get(url).status_code == 200, url
        assert queries, f"{url} ran no query on stories"
        for sql in queries:
            explained = plan(sql)
            assert "Seq Scan on stories_story" not in explained, f"{url}\n{sql}\n{explained}"
            assert "Index" in explained, f"{url}\n{sql}\n{explained}"
            checked += 1

    assert checked >= len(urls)


def test_each_order_starts_at_its_cursor_inside_its_own_index(reader, generated_table):
    for sort in ("new", "hot", "top"):
        fifth = reader.get(reverse("stories:home") + f"?sort={sort}&page={NUMBERED_PAGES}")
        older = reader.get(reverse("stories:home") + "?" + fifth.context["page_obj"].older)
        queryset = older.context["view"].object_list
        order = older.context["view"].listing_order()
        position = order.position(older.context["stories"][0])

        explained = queryset.filter(order.beyond(position)).order_by(*order.order_by())[:21].explain()

        assert f"Index Scan using story_live_{sort} on stories_story" in explained, explained
        assert "Index Cond: (ROW(" in explained, explained
