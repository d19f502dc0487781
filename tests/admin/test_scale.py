"""The story admin stays cheap on large tables: capped counts, small filters, indexed search.

Query counts are pinned with bounds that hold for a few rows and for many; on PostgreSQL,
``EXPLAIN`` of the admin's and the queue's queries on a generated table of 20,000+ stories
shows index scans, never a sequential scan of the story table.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from providers.models import Provider
from stories import counts
from stories.models import State, Story, story_types
from stories.moderation.filters import MODERATION_ORDERINGS
from stories.moderation.views import queue_queryset
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:stories_story_changelist"
# A changelist page with its filters, search and drill-down, whatever the rows and tables hold.
CHANGELIST_MAX_QUERIES = 12
CHANGE_PAGE_MAX_QUERIES = 20

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm indexes are PostgreSQL's")


def changelist(client, query: str = "") -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("stories", [3, 60])
@pytest.mark.parametrize(
    "query", ["", "?q=Story", "?type=video", "?published_at__year=2026", "?state__exact=in_review"]
)
def test_changelist_queries_do_not_grow_with_rows_or_filters(
    admin_client, django_assert_max_num_queries, stories, query
):
    provider = make_provider()
    topics = [make_topic(f"Topic {n}") for n in range(3)]
    for n in range(stories):
        make_story(
            state=State.IN_REVIEW,
            provider=provider,
            topics=topics,
            related=1,
            type=("video", "article")[n % 2],
        )
    provider_query = f"&provider__id__exact={provider.pk}&topics__id__exact={topics[0].pk}"

    for url in (query, (query or "?") + provider_query):
        with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
            assert admin_client.get(reverse(CHANGELIST) + url).status_code == 200


def test_changelist_never_scans_for_distinct_values_nor_counts_twice(admin_client):
    make_story(type="video")
    make_story(type="article")

    for query in ("", "?published_at__year=2026", "?published_at__year=2026&published_at__month=11"):
        _, queries = changelist(admin_client, query)
        assert not any("DISTINCT" in sql for sql in queries), query
        assert sum("COUNT(" in sql for sql in queries) == 1, query


def test_provider_and_topic_filters_name_only_the_chosen_one(admin_client):
    chosen = make_provider(name="Chosen Wire")
    others = [make_provider(name=f"Other paper {n}") for n in range(40)]
    topics = [make_topic(f"Unlisted topic {n}") for n in range(40)]
    make_story(provider=chosen, topics=topics[:1])
    for provider in others:
        make_story(provider=provider, topics=topics[1:2])

    plain, _ = changelist(admin_client)
    filtered, _ = changelist(admin_client, f"?provider__id__exact={chosen.pk}")
    sidebar = filtered[filtered.index('id="changelist-filter"') :]

    assert "Other paper" not in plain[plain.index('id="changelist-filter"') :]
    assert "Unlisted topic" not in plain[plain.index('id="changelist-filter"') :]
    assert f'<option value="{chosen.pk}" selected>Chosen Wire' in sidebar
    assert 'data-field-name="provider"' in sidebar and 'data-field-name="topics"' in sidebar
    assert "Other paper" not in sidebar


def test_topic_filter_lists_each_story_once(admin_client):
    topic = make_topic("Both")
    story = make_story(title="Tagged", topics=[topic, make_topic("Other")])

    body, _ = changelist(admin_client, f"?topics__id__exact={topic.pk}")

    assert body.count(f'name="version-{story.pk}"') == 1


def test_type_filter_offers_the_types_there_are_and_filters(admin_client):
    make_story(title="A clip", type="video")
    make_story(title="A text", type="article")
    make_story(title="A show", type="podcast", state=State.DRAFT)

    assert story_types() == ["article", "podcast", "video"]
    body, _ = changelist(admin_client, "?type=video")
    assert "A clip" in body and "A text" not in body
    assert "?type=podcast" in body


def test_type_list_stops_at_its_limit():
    for n in range(5):
        make_story(type=f"kind-{n}")

    assert story_types(limit=3) == ["kind-0", "kind-1", "kind-2"]


def test_search_finds_each_word_in_title_excerpt_or_provider_name(admin_client):
    make_story(title="Azure skies", excerpt="Weather.", provider=make_provider(name="Daily Sun"))
    make_story(title="Clouds", excerpt="Azure and grey.", provider=make_provider(name="Night Post"))
    make_story(title="Markets", excerpt="Shares.", provider=make_provider(name="Azure Wire"))
    make_story(title="Nothing", excerpt="At all.")

    def found(term: str) -> set[str]:
        body, _ = changelist(admin_client, "?q=" + term)
        return {title for title in ("Azure skies", "Clouds", "Markets", "Nothing") if f">{title}</a>" in body}

    assert found("azure") == {"Azure skies", "Clouds", "Markets"}
    assert found("azure weather") == {"Azure skies"}
    assert found('"daily sun"') == {"Azure skies"}
    assert found("wire markets") == {"Markets"}


def test_a_count_past_the_cap_says_more_than_and_pages_on(admin_client, monkeypatch):
    monkeypatch.setattr(counts, "COUNT_CAP", 5)
    monkeypatch.setattr(admin.site.get_model_admin(Story), "list_per_page", 3)
    for _ in range(8):
        make_story(state=State.IN_REVIEW)

    first, queries = changelist(admin_client, "?state__exact=in_review")
    second, _ = changelist(admin_client, "?state__exact=in_review&p=2")

    assert any(re.search(r"LIMIT 6\b", sql) for sql in queries)  # counted no further than the cap
    assert 'class="result-count">more than 5 stories<' in first
    assert "Select all: more than 5 stories" in first
    assert first.count('name="version-') == 3
    assert second.count('name="version-') == 3  # a page past the count's floor is not cut short


def test_an_exact_count_under_the_cap(admin_client):
    for _ in range(3):
        make_story()

    body, _ = changelist(admin_client)

    assert re.search(r'class="result-count">3 stories<', body)


def test_the_paginator_estimates_an_unfiltered_list_past_the_cap(monkeypatch):
    for _ in range(4):
        make_story()
    paginator = counts.CappedPaginator(Story.objects.order_by("pk"), 2, cap=2, estimate=lambda: 1_000)

    assert paginator.count == 1_000
    assert paginator.count_is_estimate and not paginator.count_is_exact
    assert [s.pk for s in paginator.page(2).object_list] == list(
        Story.objects.order_by("pk").values_list("pk", flat=True)[2:4]
    )


def test_the_drill_down_offers_the_calendar(admin_client):
    from datetime import UTC, datetime

    make_story(published_at=datetime(2019, 5, 1, tzinfo=UTC))
    make_story(published_at=datetime(2024, 5, 1, tzinfo=UTC))

    years, _ = changelist(admin_client)
    months, _ = changelist(admin_client, "?published_at__year=2024")
    days, _ = changelist(admin_client, "?published_at__year=2024&published_at__month=2")

    assert all(f"published_at__year={year}" in years for year in range(2019, 2025))
    assert months.count("published_at__month=") >= 12
    assert "published_at__day=29" in days and "published_at__day=30" not in days


def test_change_page_with_many_related_links_runs_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    few = make_story(state=State.IN_REVIEW, related=2, images=2)
    many = make_story(state=State.IN_REVIEW, related=75, images=2)

    for story in (few, many):
        with django_assert_max_num_queries(CHANGE_PAGE_MAX_QUERIES):
            response = admin_client.get(reverse("admin:stories_story_change", args=[story.pk]))
        body = response.content.decode()
        for link in story.related_links.select_related("provider"):
            assert f'<option value="{link.provider_id}" selected>{link.provider}' in body


def test_provider_and_topic_lists_count_stories_for_their_rows_only(admin_client):
    provider = make_provider(name="Counted")
    topic = make_topic("Counted topic")
    for _ in range(3):
        make_story(provider=provider, topics=[topic])

    providers = admin_client.get(
        reverse("admin:providers_provider_changelist") + "?q=Counted"
    ).content.decode()
    topics = admin_client.get(reverse("admin:stories_topic_changelist") + "?q=Counted").content.decode()

    assert re.search(r'class="field-story_count">3<', providers)
    assert re.search(r'class="field-story_count">3<', topics)


def test_the_provider_autocomplete_counts_no_stories(admin_client):
    make_provider(name="Quiet Gazette")
    url = reverse("admin:autocomplete")
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(
            url, {"app_label": "stories", "model_name": "story", "field_name": "provider", "term": "quiet"}
        )

    assert [r["text"].split(" (")[0] for r in response.json()["results"]] == ["Quiet Gazette"]
    assert not any("stories_story" in q["sql"] for q in captured.captured_queries)


# --- PostgreSQL: the plans at scale ---------------------------------------------------------------

GENERATED = 24_000


@pytest.fixture
def generated_stories():
    """A representative table: 24,000 stories of 400 providers, ANALYZEd."""
    providers = Provider.objects.bulk_create(
        Provider(name=f"Generated provider {n}", domain=f"generated{n}.example") for n in range(400)
    )
    first = providers[0].pk
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO stories_story (
                identity_key, category, title, excerpt, type, provider_name, featured_content, secured,
                body, layout, extra, state, state_comment, editor_touched, version, source_hash,
                superseded_hashes, created_at, updated_at, provider_id, published_at, quality, heat
            )
            SELECT
                lpad(n::text, 64, '0'), 'news',
                CASE WHEN n %% 5000 = 0 THEN 'Azure lake story ' || n
                    ELSE 'Generated story ' || n || ' about '
                    || (ARRAY['markets', 'volcanoes', 'elections', 'chips'])[n %% 4 + 1] END,
                'An excerpt of story ' || n || ' with ordinary words.',
                (ARRAY['article', 'video'])[n %% 2 + 1], 'Generated', '', '', '', '{}', '{}',
                (ARRAY['published', 'in_review', 'draft'])[n %% 3 + 1], '', '[]', 1, '', '[]', now(), now(),
                %s + n %% 400, now() - n * interval '1 minute', n %% 100, (n * 7) %% 100
            FROM generate_series(1, %s) AS n
            """,
            [first, GENERATED],
        )
        cursor.execute("ANALYZE stories_story")
        cursor.execute("ANALYZE providers_provider")
    return GENERATED


def plan(queryset) -> str:
    return queryset.explain()


def assert_no_story_scan(text: str) -> None:
    assert "Seq Scan on stories_story" not in text, text


@pytest.mark.postgres
@on_postgres
def test_admin_search_uses_the_trigram_indexes(generated_stories):
    request = RequestFactory().get(reverse(CHANGELIST), {"q": "azure"})
    model_admin = admin.site.get_model_admin(Story)
    searched, _ = model_admin.get_search_results(request, Story.objects.readable(), "azure")

    counted = plan(searched.order_by().values("pk")[: counts.COUNT_CAP + 1])
    page = plan(searched.order_by("-published_at", "-pk")[:50])

    assert "story_title_trgm" in counted
    assert_no_story_scan(counted)
    assert_no_story_scan(page)
    assert searched.count() == GENERATED // 5000


@pytest.mark.postgres
@on_postgres
def test_queue_pages_and_unreadable_rows_use_indexes(generated_stories):
    for order in MODERATION_ORDERINGS.values():
        page = queue_queryset().filter(state=State.IN_REVIEW).order_by(*order)[:25]
        assert_no_story_scan(plan(page))
    assert_no_story_scan(plan(Story.objects.filter(state=State.IN_REVIEW).unreadable().values("pk")[:20]))
    assert_no_story_scan(plan(Story.objects.unreadable().values("pk")[:20]))


@pytest.mark.postgres
@on_postgres
def test_the_type_list_and_the_estimate_read_no_table(generated_stories):
    with CaptureQueriesContext(connection) as captured:
        assert story_types() == ["article", "video"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"].replace("%", "%%"))
        types_plan = "\n".join(row[0] for row in cursor.fetchall())
    assert_no_story_scan(types_plan)
    estimate = counts.table_estimate(Story)
    assert estimate is not None and abs(estimate - GENERATED) < GENERATED * 0.2


@pytest.mark.postgres
@on_postgres
def test_the_unfiltered_changelist_says_about_the_estimate(admin_client, generated_stories):
    body, _ = changelist(admin_client)

    assert re.search(r'class="result-count">about [\d,]+ stories<', body)
