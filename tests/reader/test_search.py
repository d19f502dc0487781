"""Reader search: PostgreSQL full-text search (ranked, indexed); a plain fallback on SQLite."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from stories.models import State, Story
from stories.reader.search import INDEX_NAME, search_stories
from tests.conftest import make_story

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite fallback search")


def found(query: str) -> list[str]:
    return [story.title for story in search_stories(Story.objects.live(), query)]


def test_search_matches_words_in_title_or_excerpt():
    make_story(title="Volcano erupts", excerpt="Ash over Iceland.")
    make_story(title="Quiet day", excerpt="A volcano slept.")
    make_story(title="Markets", excerpt="Nothing to see.")

    assert sorted(found("volcano")) == ["Quiet day", "Volcano erupts"]


def test_search_needs_every_word():
    make_story(title="Volcano erupts in Iceland")
    make_story(title="Volcano sleeps in Italy")

    assert found("volcano iceland") == ["Volcano erupts in Iceland"]


def test_search_never_finds_stories_that_are_not_live(reader):
    make_story(title="Secret volcano plan", state=State.DRAFT)
    make_story(title="Public volcano news")

    response = reader.get(reverse("stories:search") + "?q=volcano")

    assert [story.title for story in response.context["stories"]] == ["Public volcano news"]


def test_blank_search_returns_everything_live():
    make_story(title="One")
    make_story(title="Two")

    assert sorted(found("   ")) == ["One", "Two"]


def test_search_survives_query_syntax_characters(reader):
    make_story(title="C++ & Rust: a comparison")

    response = reader.get(reverse("stories:search") + "?q=" + "%22unclosed%20%26%20%7C%20!%20(")

    assert response.status_code == 200


@on_postgres
def test_postgres_search_is_full_text_with_stemming():
    make_story(title="Researchers are running new trials", excerpt="")
    make_story(title="Runners", excerpt="")

    assert "Researchers are running new trials" in found("run")


@on_postgres
def test_postgres_search_ranks_title_matches_above_excerpt_matches(reader):
    make_story(title="Budget news", excerpt="The telescope budget was cut.", published_at=None)
    make_story(title="Telescope finds new planet", excerpt="Astronomers rejoice.")
    make_story(title="Weather", excerpt="Telescope, telescope and more telescope talk.")

    response = reader.get(reverse("stories:search") + "?q=telescope")

    assert [story.title for story in response.context["stories"]][0] == "Telescope finds new planet"
    ranks = [story.search_rank for story in response.context["stories"]]
    assert ranks == sorted(ranks, reverse=True)


@on_postgres
def test_postgres_has_a_gin_index_on_the_search_vector():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX_NAME])
        (definition,) = cursor.fetchone()

    assert "USING gin" in definition
    assert "to_tsvector" in definition


@on_postgres
def test_postgres_search_query_uses_the_gin_index():
    for n in range(30):
        make_story(title=f"Filler {n}")
    queryset = search_stories(Story.objects.all(), "filler")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert INDEX_NAME in plan


@on_sqlite
def test_sqlite_fallback_is_case_insensitive_substring_search():
    make_story(title="Volcanoes of the world")

    assert found("VOLCANO") == ["Volcanoes of the world"]


@on_sqlite
def test_sqlite_fallback_puts_title_matches_first():
    make_story(title="Weather report", excerpt="A volcano nearby.")
    make_story(title="Volcano erupts", excerpt="Ash everywhere.", published_at=None)

    assert found("volcano") == ["Volcano erupts", "Weather report"]
