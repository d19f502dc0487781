"""Reader text search: PostgreSQL full-text search, ranked and indexed; a plain ranked fallback elsewhere.

On PostgreSQL the search vector is an expression (title weighted A, excerpt
weighted B, English configuration) with a GIN expression index on exactly the
same expression (migration ``0003_story_search_index``), so ``@@`` matches use
the index. Keep ``SEARCH_VECTOR`` and ``INDEX_EXPRESSION`` in step: PostgreSQL
only uses an expression index for a query expression that parses to the same tree.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connections
from django.db.models import Case, ExpressionWrapper, FloatField, Q, QuerySet, Value, When

SEARCH_CONFIG = "english"
MAX_QUERY_LENGTH = 200
INDEX_NAME = "story_search_vector_gin"
MAX_FALLBACK_WORDS = 10

SEARCH_VECTOR = SearchVector("title", weight="A", config=SEARCH_CONFIG) + SearchVector(
    "excerpt", weight="B", config=SEARCH_CONFIG
)

# The SQL Django compiles SEARCH_VECTOR to, with unqualified column names.
INDEX_EXPRESSION = (
    f"(setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, COALESCE(title, '')), 'A') || "
    f"setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, COALESCE(excerpt, '')), 'B'))"
)


def normalise_query(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_QUERY_LENGTH]


def search_stories(queryset: QuerySet, text: str | None) -> QuerySet:
    """Stories matching ``text``. On PostgreSQL they carry ``search_rank`` and come best first."""
    text = normalise_query(text)
    if not text:
        return queryset
    if connections[queryset.db].vendor == "postgresql":
        query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
        return (
            queryset.alias(search_vector=SEARCH_VECTOR)
            .filter(search_vector=query)
            .annotate(search_rank=SearchRank(SEARCH_VECTOR, query))
            .order_by("-search_rank", "-published_at", "-id")
        )
    # Fallback: every word must appear in the title or the excerpt; a word in
    # the title counts double, as the title weighs more on PostgreSQL.
    condition = Q()
    score = Value(0)
    for word in text.split()[:MAX_FALLBACK_WORDS]:
        condition &= Q(title__icontains=word) | Q(excerpt__icontains=word)
        score = score + Case(When(title__icontains=word, then=Value(2)), default=Value(1))
    return (
        queryset.filter(condition)
        .annotate(search_rank=ExpressionWrapper(score, output_field=FloatField()))
        .order_by("-search_rank", "-published_at", "-id")
    )
