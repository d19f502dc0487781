"""Reader search: stemmed, ranked, capped and highlighted on PostgreSQL (stored tsvector, GIN) and
SQLite (FTS5); live stories only; the stored search text follows every write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stories.models import State, Story
from stories.reader.pagination import Listing
from stories.reader.search import (
    FTS_TABLE,
    FTS_TRIGGERS,
    INDEX_NAME,
    MARK_START,
    MARK_STOP,
    attach_highlights,
    candidate_limit,
    ensure_sqlite_search,
    search_stories,
)
from stories.templatetags.reader import marked
from stories.workflow.drafts import edit
from tests.conftest import make_story, make_topic
from tests.imports.test_import_command import run_import, story_file, write

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite FTS5 search")


def found(query: str) -> list[str]:
    return [story.title for story in search_stories(Story.objects.live(), query)]


def shown(reader, query: str, **params) -> list[str]:
    response = reader.get(reverse("stories:search"), {"q": query, **params})
    assert response.status_code == 200
    return [story.title for story in response.context["stories"]]


# --- matching ------------------------------------------------------------------------------------


def test_search_matches_words_in_title_or_excerpt():
    make_story(title="Volcano erupts", excerpt="Ash over Iceland.")
    make_story(title="Quiet day", excerpt="A volcano slept.")
    make_story(title="Markets", excerpt="Nothing to see.")

    assert sorted(found("volcano")) == ["Quiet day", "Volcano erupts"]


def test_search_needs_every_word():
    make_story(title="Volcano erupts in Iceland")
    make_story(title="Volcano sleeps in Italy")

    assert found("volcano iceland") == ["Volcano erupts in Iceland"]


def test_search_stems_a_plural_to_its_singular_and_back():
    make_story(title="Copilot lands in Word", excerpt="")
    make_story(title="Weather", excerpt="Two copilots were interviewed.")

    assert sorted(found("copilots")) == ["Copilot lands in Word", "Weather"]
    assert sorted(found("copilot")) == ["Copilot lands in Word", "Weather"]


def test_search_stems_verb_forms():
    make_story(title="Researchers are running new trials", excerpt="")
    make_story(title="Markets", excerpt="Nothing ran today.")

    assert found("run") == ["Researchers are running new trials"]


def test_search_survives_query_syntax_characters(reader):
    make_story(title="C++ & Rust: a comparison")

    for query in ['"unclosed & | ! (', 'rust" OR "c', "NEAR(rust c)", "rust*", "-rust", "title:rust", "!!!"]:
        assert reader.get(reverse("stories:search"), {"q": query}).status_code == 200, query
    assert shown(reader, "Rust: comparison") == ["C++ & Rust: a comparison"]


def test_blank_text_leaves_the_listing_as_it_is():
    make_story(title="One")
    make_story(title="Two")

    assert sorted(found("   ")) == ["One", "Two"]


def test_the_search_page_without_words_lists_nothing_and_asks_for_them(reader):
    make_story(title="One")

    response = reader.get(reverse("stories:search"))

    assert list(response.context["stories"]) == []
    assert "What are you looking for?" in response.content.decode()
    assert "No stories yet" not in response.content.decode()


# --- readers never see what is not live ----------------------------------------------------------


@pytest.mark.parametrize("state", [State.DRAFT, State.IN_REVIEW, State.REJECTED])
def test_search_never_finds_stories_that_are_not_published(reader, state):
    make_story(title="Secret volcano plan", state=state)
    make_story(title="Public volcano news")

    assert shown(reader, "volcano") == ["Public volcano news"]


def test_search_never_finds_stories_outside_their_window(reader):
    now = timezone.now()
    make_story(title="Future volcano", go_live_at=now + timedelta(days=1))
    make_story(title="Expired volcano", expire_at=now - timedelta(days=1))
    make_story(title="Public volcano news")

    assert shown(reader, "volcano") == ["Public volcano news"]


def test_a_waiting_draft_of_a_live_story_is_not_searched(reader, editor):
    story = make_story(title="Volcano report")

    done = edit(story, actor=editor, content={"title": "Glacier report"})

    assert done.draft is not None
    assert shown(reader, "glacier") == []
    assert shown(reader, "volcano") == ["Volcano report"]


# --- ranking, order and filters ------------------------------------------------------------------


def test_a_title_match_ranks_above_excerpt_matches(reader):
    make_story(title="Budget news", excerpt="The telescope budget was cut.", published_at=None)
    make_story(title="Telescope finds new planet", excerpt="Astronomers rejoice.")
    make_story(title="Weather", excerpt="Telescope, telescope and more telescope talk.")

    response = reader.get(reverse("stories:search"), {"q": "telescope"})

    stories = list(response.context["stories"])
    assert stories[0].title == "Telescope finds new planet"
    ranks = [story.search_rank for story in stories]
    assert ranks == sorted(ranks, reverse=True)


def test_a_chosen_order_applies_to_the_matches(reader):
    make_story(title="Cold volcano", excerpt="", heat=10)
    make_story(title="Hot volcano", excerpt="", heat=90)
    make_story(title="Hot glacier", excerpt="", heat=99)

    assert shown(reader, "volcano", sort="hot") == ["Hot volcano", "Cold volcano"]


def test_filters_narrow_the_matches_before_the_cap(reader):
    news, sport = make_topic("News"), make_topic("Sport")
    for n in range(4):
        make_story(title=f"Volcano news {n}", topics=[news])
        make_story(title=f"Volcano sport {n}", topics=[sport])

    with override_settings(NEWSROOM_SEARCH_CANDIDATES=3):
        titles = shown(reader, "volcano", topic=sport.slug)

    assert len(titles) == 3 and all("sport" in title for title in titles)


# --- the candidate cap and the count -------------------------------------------------------------


@override_settings(NEWSROOM_SEARCH_CANDIDATES=5)
def test_the_count_stops_at_the_candidate_limit_and_says_there_were_more(reader):
    for n in range(8):
        make_story(title=f"Volcano {n}")

    response = reader.get(reverse("stories:search"), {"q": "volcano"})

    assert response.context["page_obj"].count_capped
    assert len(response.context["stories"]) == 5
    assert "More than 5 stories" in response.content.decode()


@override_settings(NEWSROOM_SEARCH_CANDIDATES=5)
def test_a_count_under_the_limit_is_exact(reader):
    for n in range(5):
        make_story(title=f"Volcano {n}")

    response = reader.get(reverse("stories:search"), {"q": "volcano"})

    assert response.context["page_obj"].count == 5
    assert "5 stories" in response.content.decode()
    assert "More than" not in response.content.decode()


@override_settings(NEWSROOM_SEARCH_CANDIDATES=30)
def test_pages_of_a_capped_search_stop_at_the_limit(reader):
    for n in range(45):
        make_story(title=f"Volcano {n}")

    last = reader.get(reverse("stories:search"), {"q": "volcano", "page": 2})

    assert [number for number, _ in last.context["page_obj"].numbers] == [1, 2]
    assert len(last.context["stories"]) == 10
    assert reader.get(reverse("stories:search"), {"q": "volcano", "page": 3}).status_code == 404


def test_search_queries_do_not_grow_with_matches_or_page_size(reader, django_assert_max_num_queries):
    def count(query: str) -> int:
        cache.clear()  # every page measured cold
        with CaptureQueriesContext(connection) as captured:
            reader.get(reverse("stories:search"), {"q": query})
        return len(captured.captured_queries)

    make_story(title="Glacier one", related=1)
    few = count("glacier")
    for n in range(45):
        make_story(title=f"Volcano {n}", excerpt="A volcano.", related=2, images=2)
    many = count("volcano")

    assert few == many
    cache.clear()
    with django_assert_max_num_queries(many):
        reader.get(reverse("stories:search"), {"q": "volcano", "page": 2})


# --- highlighting --------------------------------------------------------------------------------


def test_matches_are_highlighted_and_everything_else_escaped(reader):
    make_story(title="<script>alert(1)</script> Copilots & <b>pilots</b>", excerpt="The copilot <i>said</i>.")

    html = reader.get(reverse("stories:search"), {"q": "copilot"}).content.decode()

    assert "<script>alert" not in html and "<b>pilots" not in html and "<i>said" not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Copilots</mark> &amp; &lt;b&gt;pilots&lt;/b&gt;" in html
    )
    assert "The <mark>copilot</mark> &lt;i&gt;said&lt;/i&gt;." in html


def test_marker_characters_in_a_story_never_make_marks_of_their_own(reader):
    make_story(title="Volcano news", excerpt=f"Lava {MARK_START}flows{MARK_STOP} and a volcano {MARK_STOP}.")

    html = reader.get(reverse("stories:search"), {"q": "volcano"}).content.decode()

    assert "Lava flows and a <mark>volcano</mark> ." in html


def test_a_long_excerpt_shows_the_part_with_the_match(reader):
    words = " ".join(f"word{n}" for n in range(200))
    make_story(title="Report", excerpt=f"{words} the volcano erupted {words}")

    html = reader.get(reverse("stories:search"), {"q": "volcano"}).content.decode()

    excerpt = html[html.index('<p class="card__excerpt">') :].split("</p>", 1)[0]
    assert "<mark>volcano</mark>" in excerpt
    assert excerpt.count("word") <= 60 and "… " in excerpt and " …" in excerpt


def test_only_the_shown_page_is_highlighted(reader):
    for n in range(25):
        make_story(title=f"Volcano {n}")

    with CaptureQueriesContext(connection) as captured:
        reader.get(reverse("stories:search"), {"q": "volcano"})

    sqls = [query["sql"] for query in captured.captured_queries]
    marking = [sql for sql in sqls if "ts_headline" in sql or "highlight(" in sql]
    assert len(marking) == 1
    ids = marking[0].rsplit(" IN (", 1)[1].split(")", 1)[0]
    assert len(ids.split(",")) == 20  # the shown page, not the 25 matches


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (f"a {MARK_START}b{MARK_STOP} c", "a <mark>b</mark> c"),
        (f"{MARK_START}<x>{MARK_STOP}", "<mark>&lt;x&gt;</mark>"),
        (f"{MARK_STOP}a{MARK_START}b", "a<mark>b</mark>"),
        (f"{MARK_START}{MARK_START}a{MARK_STOP}{MARK_STOP}", "<mark>a</mark>"),
        ("Caf&eacute; \u202eevil", "Café evil"),
        ("&lt;script&gt;", "&lt;script&gt;"),
    ],
)
def test_marked_text_becomes_balanced_escaped_html(text, html):
    assert marked(text) == html


# --- the stored search text follows every write --------------------------------------------------


def test_an_edited_title_or_excerpt_is_searched_at_once():
    story = make_story(title="Volcano erupts", excerpt="Ash.")

    story.title = "Glacier melts"
    story.save()
    Story.objects.filter(pk=story.pk).update(excerpt="Icebergs everywhere.")

    assert found("volcano") == []
    assert found("glacier") == ["Glacier melts"]
    assert found("iceberg") == ["Glacier melts"]


def test_a_deleted_story_leaves_the_search():
    story = make_story(title="Volcano erupts")
    make_story(title="Volcano sleeps")

    story.delete()

    assert found("volcano") == ["Volcano sleeps"]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {FTS_TABLE}")  # noqa: S608 (a constant)
            assert cursor.fetchone() == (Story.objects.count(),)


def test_bulk_created_stories_are_searched():
    template = make_story(title="Template")
    Story.objects.bulk_create(
        Story(
            identity_key=f"bulk-{n}",
            title=f"Bulk copilots {n}",
            excerpt="",
            provider=template.provider,
            state=State.PUBLISHED,
        )
        for n in range(3)
    )

    assert sorted(found("copilot")) == ["Bulk copilots 0", "Bulk copilots 1", "Bulk copilots 2"]


def test_imported_stories_are_searched_and_follow_a_reimport(tmp_path):
    # The import writes new stories in bulk (COPY on PostgreSQL) and updates rows on re-import.
    for n in range(3):
        write(tmp_path, f"s{n}.md", story_file(f"volcano-{n}", title=f"Volcanoes erupt {n}"))
    report = run_import(tmp_path)
    assert report.counts["created"] == 3

    assert sorted(found("volcano")) == ["Volcanoes erupt 0", "Volcanoes erupt 1", "Volcanoes erupt 2"]

    write(tmp_path, "s0.md", story_file("volcano-0", title="Glaciers melt"))
    report = run_import(tmp_path)
    assert report.counts["updated"] == 1
    assert sorted(found("volcano")) == ["Volcanoes erupt 1", "Volcanoes erupt 2"]
    assert found("glacier") == ["Glaciers melt"]


# --- PostgreSQL: the stored vector, its index, the plans -----------------------------------------


@on_postgres
def test_postgres_keeps_a_gin_index_on_the_stored_vector():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX_NAME])
        (definition,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'story_search_vector_gin'")
        (old_expression_index,) = cursor.fetchone()

    assert "USING gin (search_vector)" in definition
    assert old_expression_index == 0


@on_postgres
def test_postgres_recomputes_the_vector_only_when_the_text_changes():
    story = make_story(title="Volcano", excerpt="Ash.")

    def vector() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT search_vector::text FROM stories_story WHERE id = %s", [story.pk])
            return cursor.fetchone()[0]

    assert vector() == "'ash':2B 'volcano':1A"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE stories_story SET search_vector = 'marker' WHERE id = %s", [story.pk])
    story.heat = 99
    story.save()  # writes every column, the title and excerpt unchanged
    assert vector() == "'marker'"
    Story.objects.filter(pk=story.pk).update(excerpt="Lava flows.")
    assert vector() == "'flow':3B 'lava':2B 'volcano':1A"


@on_postgres
def test_postgres_ranks_from_the_stored_vector():
    make_story(title="Volcano")

    sql = str(search_stories(Story.objects.live(), "volcano").query)

    assert "ts_rank(" in sql and '"search_vector"' in sql
    assert "to_tsvector" not in sql


def generate_stories(count: int, provider_id: int) -> None:
    """``count`` stories straight in SQL: every tenth in review, ``volcano`` in one in 200 titles
    (of which a fifth in review), ``azure`` in every excerpt."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO stories_story (
                identity_key, category, title, excerpt, published_at, type, provider_id, provider_name,
                featured_content, secured, body, layout, extra, state, state_comment, editor_touched,
                version, source_hash, superseded_hashes, created_at, updated_at)
            SELECT 'generated-' || g, 'news',
                'Story ' || g || CASE WHEN g %% 200 = 3 THEN ' about a volcano' ELSE '' END,
                'Azure clouds and item ' || g, now() - g * interval '1 minute', 'article', %s, 'P',
                '', '', '', '{}', '{}', CASE WHEN g %% 10 = 0 THEN 'in_review' ELSE 'published' END,
                '', '[]', 1, '', '[]', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [provider_id, count],
        )
        cursor.execute("ANALYZE stories_story")


def search_plans(text: str) -> list[str]:
    """The plan of every query a search page runs on stories: candidates, count, page, highlights."""
    plans = []

    def explain(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT") and "stories_story" in sql:
            raw = context["cursor"].cursor
            raw.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in raw.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        stories = Story.objects.live().with_cards()
        page = Listing(search_stories(stories, text), order=None, params=QueryDict()).page()
        attach_highlights(page.stories, text)
    assert len(page.stories) > 0
    return plans


@on_postgres
def test_postgres_search_uses_the_gin_index_and_never_scans_the_story_table():
    generate_stories(25_000, make_story(title="Seed").provider_id)

    rare = search_plans("volcano")
    common = search_plans("azure")

    assert INDEX_NAME in rare[0], rare[0]  # the candidates
    for plan in rare + common:
        assert "Seq Scan on stories_story" not in plan, plan


@on_postgres
def test_postgres_search_counts_and_ranks_only_the_candidates():
    generate_stories(25_000, make_story(title="Seed").provider_id)

    with CaptureQueriesContext(connection) as captured:
        stories = search_stories(Story.objects.live(), "azure")
        count = stories.count()

    assert count == candidate_limit() + 1  # the limit and the one that says there were more
    candidates = captured.captured_queries[0]["sql"]
    assert f"LIMIT {candidate_limit() + 1}" in candidates and "ts_rank" not in candidates


# --- SQLite: the FTS5 table and its triggers -----------------------------------------------------


@on_sqlite
def test_sqlite_keeps_its_search_triggers_after_migrations():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        triggers = {name for (name,) in cursor.fetchall()}

    assert set(FTS_TRIGGERS) <= triggers


@on_sqlite
def test_sqlite_triggers_are_those_that_are_put_back_after_a_rebuild():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        created = dict(cursor.fetchall())

    for name, definition in FTS_TRIGGERS.items():
        assert created[name] == f"CREATE TRIGGER {name} {definition}"


@on_sqlite
def test_sqlite_search_triggers_come_back_after_a_table_rebuild():
    make_story(title="Volcano erupts")
    # What Django's rebuild of the table for an ALTER leaves: the rows, and no triggers.
    with connection.cursor() as cursor:
        for name in FTS_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    make_story(title="Volcano sleeps")

    ensure_sqlite_search(connection.alias)
    make_story(title="Volcano wakes")

    assert sorted(found("volcano")) == ["Volcano erupts", "Volcano sleeps", "Volcano wakes"]


@on_sqlite
def test_sqlite_ranks_with_bm25_and_the_title_first():
    make_story(title="Weather report", excerpt="A volcano nearby.")
    make_story(title="Volcano erupts", excerpt="Ash everywhere.", published_at=None)

    assert found("volcano") == ["Volcano erupts", "Weather report"]
