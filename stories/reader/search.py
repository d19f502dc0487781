"""Reader text search: stemmed, ranked, capped and highlighted, on PostgreSQL and on SQLite.

The database keeps every story's search text itself (migration ``0014_search_vectors``), so
every write — the ORM, ``bulk_create``, the import's COPY — keeps it current:

- PostgreSQL: the column ``stories_story.search_vector`` (a trigger fills it: title weighted A,
  excerpt B, English configuration) with a GIN index; the query takes ``websearch`` syntax and
  ``ts_rank`` ranks on the stored vector.
- SQLite: the FTS5 table ``stories_story_fts`` (porter stemming; triggers fill it), ranked by
  ``bm25`` with the title weighing ``TITLE_WEIGHT`` times the excerpt. Every word must appear.

A search costs the same whatever the size of the table: it takes the first
``settings.NEWSROOM_SEARCH_CANDIDATES`` matches in the listing's order (newest first, or the
sort chosen), ranks those only, and counts at most that many (the listing's page says
when there were more). Matches are highlighted for the shown page only (``attach_highlights``):
the database puts ``MARK_START``/``MARK_STOP`` around them, control characters removed from the
text beforehand, and the template filter ``marked`` escapes the text and only then turns the
markers into ``<mark>``.

Search reads the story rows, which hold what readers see; a draft of a live story waits in its
revision and is never searched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVectorField
from django.db import connections
from django.db.models import BooleanField, F, FloatField, Func, QuerySet, TextField, Value

from stories.models import Story

SEARCH_CONFIG = "english"
MAX_QUERY_LENGTH = 200
MAX_WORDS = 10
TITLE_WEIGHT = 10.0
EXCERPT_WORDS = 40
MARK_START = "\x02"
MARK_STOP = "\x03"

VECTOR_COLUMN = "search_vector"
INDEX_NAME = "story_search_stored_gin"
FTS_TABLE = "stories_story_fts"
# The SQLite definitions (frozen in the migration; ``ensure_sqlite_search`` restores the triggers).
# The text is stored without the two highlight markers.
FTS_TRIGGERS = {
    "stories_story_fts_insert": """AFTER INSERT ON stories_story BEGIN
        INSERT INTO stories_story_fts (rowid, title, excerpt) VALUES (new.id,
            replace(replace(new.title, char(2), ''), char(3), ''),
            replace(replace(new.excerpt, char(2), ''), char(3), ''));
    END""",
    "stories_story_fts_update": """AFTER UPDATE OF id, title, excerpt ON stories_story
    WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.excerpt IS NOT new.excerpt BEGIN
        DELETE FROM stories_story_fts WHERE rowid = old.id;
        INSERT INTO stories_story_fts (rowid, title, excerpt) VALUES (new.id,
            replace(replace(new.title, char(2), ''), char(3), ''),
            replace(replace(new.excerpt, char(2), ''), char(3), ''));
    END""",
    "stories_story_fts_delete": """AFTER DELETE ON stories_story BEGIN
        DELETE FROM stories_story_fts WHERE rowid = old.id;
    END""",
}
_FTS_FILL = """INSERT INTO stories_story_fts (rowid, title, excerpt) SELECT id,
    replace(replace(title, char(2), ''), char(3), ''), replace(replace(excerpt, char(2), ''), char(3), '')
    FROM stories_story"""
_FTS_MATCH = "{pk} IN (SELECT rowid FROM stories_story_fts WHERE stories_story_fts MATCH %s)"
# bm25 counts every match of each word, once per statement: the candidates' scores come from one
# statement, not one per row. FTS5 runs a query once per value of a ``rowid IN (...)``, and once for
# a range: the range of the candidates' ids, the others left out in Python.
_FTS_SCORES = (
    "SELECT rowid, -bm25(stories_story_fts, {weight}, 1.0) FROM stories_story_fts"
    " WHERE stories_story_fts MATCH %s AND rowid BETWEEN %s AND %s"
)
# A story's place in a list of ids given as ",3,1,2,": 1 for the first; its negative ranks.
_PLACE_IN_LIST = "-instr(%s, ',' || {pk} || ',')"
_FTS_HIGHLIGHTS = (
    "SELECT rowid, highlight(stories_story_fts, 0, %s, %s), highlight(stories_story_fts, 1, %s, %s)"
    " FROM stories_story_fts WHERE stories_story_fts MATCH %s AND rowid IN ({placeholders})"
)


def normalise_query(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_QUERY_LENGTH]


def candidate_limit() -> int:
    return settings.NEWSROOM_SEARCH_CANDIDATES


class _StoryRowSql(Func):
    """SQL about the story row in hand, which the models do not know (the stored vector, the FTS
    table). Built on the row's primary key, so Django keeps the table alias right in subqueries."""

    def __init__(self, *params, output_field):
        super().__init__(F("pk"), output_field=output_field)
        self.params = list(params)

    def row_sql(self, compiler, connection) -> tuple[str, str]:
        (pk,) = self.get_source_expressions()
        return compiler.quote_name_unless_alias(pk.alias), compiler.compile(pk)[0]

    def sql(self, alias: str, pk: str, connection) -> str:
        raise NotImplementedError

    def as_sql(self, compiler, connection, **extra):
        alias, pk = self.row_sql(compiler, connection)
        return self.sql(alias, pk, connection), list(self.params)


class StoredVector(_StoryRowSql):
    """``stories_story.search_vector`` (PostgreSQL)."""

    def __init__(self):
        super().__init__(output_field=SearchVectorField())

    def sql(self, alias, pk, connection):
        return f"{alias}.{connection.ops.quote_name(VECTOR_COLUMN)}"


class FtsMatch(_StoryRowSql):
    """The story is among the FTS5 matches of a query (SQLite)."""

    def __init__(self, fts_query: str):
        super().__init__(fts_query, output_field=BooleanField())

    def sql(self, alias, pk, connection):
        return _FTS_MATCH.format(pk=pk)


class ListedFirst(_StoryRowSql):
    """Higher for a story earlier in ``ids`` (SQLite, whose ranking is done in Python)."""

    def __init__(self, ids: list[int]):
        super().__init__(f",{','.join(map(str, ids))},", output_field=FloatField())

    def sql(self, alias, pk, connection):
        return _PLACE_IN_LIST.format(pk=pk)


def fts_query(text: str) -> str:
    """An FTS5 query for every word of ``text``; each word quoted, so no character is syntax."""
    words = re.findall(r"\w+", text)[:MAX_WORDS]
    return " ".join(f'"{word}"' for word in words)


def _postgres_query(text: str) -> SearchQuery:
    return SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")


def search_stories(queryset: QuerySet, text: str | None, *, best_first: bool = True) -> QuerySet:
    """Stories of ``queryset`` matching ``text``, each with ``search_rank`` (higher is better).

    Reads the candidates at once, in one query: the first ``candidate_limit() + 1`` matches in
    ``queryset``'s order (the listing's, newest first unless a sort was chosen), so the planner
    either walks that order's index and stops, or takes the few matches of a rare word from the
    GIN index. The queryset returned looks those up by key: ranked best first (``best_first``),
    or in ``queryset``'s order. The one past the limit only tells the listing's count that there
    were more. A blank ``text`` leaves ``queryset`` as is.
    """
    text = normalise_query(text)
    if not text:
        return queryset
    postgres = connections[queryset.db].vendor == "postgresql"
    if postgres:
        query = _postgres_query(text)
        matching = queryset.alias(search_vector=StoredVector()).filter(search_vector=query)
    else:
        words = fts_query(text)
        if not words:
            return queryset.none()
        matching = queryset.filter(FtsMatch(words))
    candidates = list(matching.values_list("pk", "published_at")[: candidate_limit() + 1])
    ids = [pk for pk, _ in candidates]
    if postgres:
        rank = SearchRank(StoredVector(), query)
    else:
        rank = ListedFirst(_best_first_by_bm25(queryset.db, candidates, words) if best_first else ids)
    found = queryset.filter(pk__in=ids).annotate(search_rank=rank)
    return found.order_by("-search_rank", "-published_at", "-id") if best_first else found


def _best_first_by_bm25(using: str, candidates: list[tuple[int, datetime | None]], words: str) -> list[int]:
    """The candidates' ids ranked as on PostgreSQL: score, then newest (undated last), then highest id."""
    if not candidates:
        return []
    ids = [pk for pk, _ in candidates]
    with connections[using].cursor() as cursor:
        cursor.execute(_FTS_SCORES.format(weight=TITLE_WEIGHT), [words, min(ids), max(ids)])
        scores = dict(cursor.fetchall())
    ranked = sorted(candidates, key=lambda row: row[0], reverse=True)
    ranked.sort(key=lambda row: row[1].timestamp() if row[1] else float("-inf"), reverse=True)
    ranked.sort(key=lambda row: scores.get(row[0], 0.0), reverse=True)
    return [pk for pk, _ in ranked]


def attach_highlights(stories: Iterable, text: str | None) -> None:
    """Give each of ``stories`` (the shown page) ``search_title`` (the title, matches marked)
    and ``search_excerpt`` (up to ``EXCERPT_WORDS`` words of it around the first match), in one
    query. The whole texts are marked (``HighlightAll``): PostgreSQL's fragments drop what looks
    like a tag, and readers see the excerpt as it is written."""
    stories = list(stories)
    text = normalise_query(text)
    if not stories or not text:
        return
    using = stories[0]._state.db
    ids = [story.pk for story in stories]
    if connections[using].vendor == "postgresql":
        marked = _postgres_highlights(using, ids, text)
    else:
        marked = _sqlite_highlights(using, ids, text)
    for story in stories:
        if story.pk in marked:
            title, excerpt = marked[story.pk]
            story.search_title = title
            story.search_excerpt = excerpt_around_match(excerpt) if excerpt else ""


def _postgres_highlights(using: str, ids: list[int], text: str) -> dict[int, tuple[str, str]]:
    query = _postgres_query(text)

    def unmarked(field: str) -> Func:
        return Func(
            F(field), Value(MARK_START + MARK_STOP), Value(""), function="translate", output_field=TextField()
        )

    def headline(field: str, **options) -> SearchHeadline:
        return SearchHeadline(
            unmarked(field), query, config=SEARCH_CONFIG, start_sel=MARK_START, stop_sel=MARK_STOP, **options
        )

    rows = (
        Story.objects.using(using)
        .filter(pk__in=ids)
        .annotate(
            marked_title=headline("title", highlight_all=True),
            marked_excerpt=headline("excerpt", highlight_all=True),
        )
        .values_list("pk", "marked_title", "marked_excerpt")
    )
    return {pk: (title, excerpt) for pk, title, excerpt in rows}


def _sqlite_highlights(using: str, ids: list[int], text: str) -> dict[int, tuple[str, str]]:
    words = fts_query(text)
    if not words:
        return {}
    sql = _FTS_HIGHLIGHTS.format(placeholders=", ".join(["%s"] * len(ids)))
    params = [MARK_START, MARK_STOP, MARK_START, MARK_STOP, words, *ids]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return {pk: (title, excerpt) for pk, title, excerpt in cursor.fetchall()}


def excerpt_around_match(marked: str, words: int = EXCERPT_WORDS) -> str:
    """At most ``words`` words of a marked excerpt, from a little before its first match, with an
    ellipsis where text is left out (a mark cut in two is closed by the ``marked`` filter)."""
    parts = marked.split()
    if len(parts) <= words:
        return marked
    first = next((n for n, part in enumerate(parts) if MARK_START in part), 0)
    start = max(0, min(first - words // 4, len(parts) - words))
    shown = " ".join(parts[start : start + words])
    return f"{'… ' if start else ''}{shown}{' …' if start + words < len(parts) else ''}"


def ensure_sqlite_search(using: str) -> None:
    """Put back the SQLite search triggers, and refill the FTS table, if they are missing.

    Django alters a SQLite table by building a new one and dropping the old, and the triggers go
    with the old table; run after every migrate (``StoriesConfig.ready``).
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {name for (name,) in cursor.fetchall()}
        if FTS_TABLE not in present or set(FTS_TRIGGERS) <= present:
            return
        for name, definition in FTS_TRIGGERS.items():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"CREATE TRIGGER {name} {definition}")
        cursor.execute("DELETE FROM stories_story_fts")
        cursor.execute(_FTS_FILL)
