"""The orders readers list stories in, each served exactly by a partial index on published stories.

An order is a list of keys, all descending, ending with the id so that no two stories tie.
A key is never NULL: a story without a date or a score takes a value below every valid one,
so it comes last (what ``NULLS LAST`` would say). Keeping NULL out of the keys lets one row
comparison, ``(key, …, id) < (value, …, id)``, say "after this story", which both databases
answer by starting a scan inside the index (keyset pagination), and lets the same index
definition work on SQLite, whose indexes take no ``NULLS LAST``.

The indexes (``reader_indexes()``, in ``Story.Meta.indexes``) and the queries
(``StoryQuerySet.in_reader_order()``) take their expressions from the same ``ReaderOrder``:
PostgreSQL uses an expression index only for the very same expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import models
from django.db.models import BooleanField, Expression, F, Value
from django.db.models.functions import Coalesce

from stories.storyfile import ID_MAX, SCORE_MAX, SCORE_MIN

# Python dates run from year 1 to 9999. PostgreSQL holds more (year 10000, 1 BC), and a row
# holding such a date cannot even be loaded: pages that show stories leave those rows out.
EARLIEST_READABLE = datetime(1, 1, 1, tzinfo=UTC)
LATEST_READABLE = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

# What a missing key sorts as. Only a story dated at the very first instant of year 1 ties
# with one without a date (the id orders them); scores are checked on the way in.
NO_DATE = EARLIEST_READABLE
NO_SCORE = SCORE_MIN - 1


@dataclass(frozen=True)
class SortKey:
    """One column of an order; ``missing`` stands for NULL (None: the column is never NULL)."""

    field: str
    low: int | datetime
    high: int | datetime
    missing: int | datetime | None = None

    def expression(self) -> Expression:
        if self.missing is None:
            return F(self.field)
        return Coalesce(F(self.field), Value(self.missing))

    def value_of(self, story) -> int | datetime:
        value = getattr(story, self.field)
        return self.missing if value is None else value

    def accepts(self, value: int | datetime) -> bool:
        """Whether ``value`` is one this key can hold (a cursor names only such values)."""
        return self.low <= value <= self.high


DATE_KEY = SortKey("published_at", low=NO_DATE, high=LATEST_READABLE, missing=NO_DATE)
ID_KEY = SortKey("id", low=1, high=ID_MAX)


class RowComparison(Expression):
    """``(a, b, …) < (x, y, …)`` (or ``>``): SQL row values, compared left to right."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, left: list, operator: str, right: list) -> None:
        if operator not in ("<", ">") or len(left) != len(right):
            raise ValueError("a row comparison needs < or > between rows of the same length")
        super().__init__()
        self.left, self.operator, self.right = list(left), operator, list(right)

    def get_source_expressions(self) -> list:
        return [*self.left, *self.right]

    def set_source_expressions(self, exprs) -> None:
        self.left, self.right = list(exprs[: len(self.left)]), list(exprs[len(self.left) :])

    def as_sql(self, compiler, connection):
        sides, params = [], []
        for row in (self.left, self.right):
            parts = []
            for expression in row:
                sql, part_params = compiler.compile(expression)
                parts.append(sql)
                params.extend(part_params)
            sides.append(f"({', '.join(parts)})")
        return f"{sides[0]} {self.operator} {sides[1]}", params


Position = tuple  # a story's key values in one order, the id last


@dataclass(frozen=True)
class ReaderOrder:
    name: str
    keys: tuple[SortKey, ...]

    def order_by(self, *, reverse: bool = False) -> list:
        """Descending on every key (ascending with ``reverse``, to read backwards from a point)."""
        return [key.expression().asc() if reverse else key.expression().desc() for key in self.keys]

    def index_expressions(self) -> list:
        return self.order_by()

    def position(self, story) -> Position:
        return tuple(key.value_of(story) for key in self.keys)

    def beyond(self, position: Position, *, reverse: bool = False) -> RowComparison:
        """Stories after ``position`` in this order (before it with ``reverse``)."""
        return RowComparison(
            [key.expression() for key in self.keys],
            ">" if reverse else "<",
            [Value(value) for value in position],
        )


def score_key(field: str) -> SortKey:
    return SortKey(field, low=NO_SCORE, high=SCORE_MAX, missing=NO_SCORE)


NEWEST = ReaderOrder("new", (DATE_KEY, ID_KEY))
HOTTEST = ReaderOrder("hot", (score_key("heat"), DATE_KEY, ID_KEY))
BEST = ReaderOrder("top", (score_key("quality"), DATE_KEY, ID_KEY))
READER_ORDERS = {order.name: order for order in (NEWEST, HOTTEST, BEST)}


def reader_indexes(condition) -> list[models.Index]:
    """Partial indexes on the stories that match ``condition``: one for each reader order, one for
    the newest stories of a provider (its page and feeds), the last change (sitemap lastmod) and
    the id (sitemap pages, ranges of ids)."""
    indexes = [
        models.Index(*order.index_expressions(), name=f"story_live_{order.name}", condition=condition)
        for order in READER_ORDERS.values()
    ]
    return [
        *indexes,
        models.Index(
            F("provider"), *NEWEST.index_expressions(), name="story_live_provider_new", condition=condition
        ),
        models.Index(fields=["-updated_at"], name="story_live_updated", condition=condition),
        models.Index(fields=["id"], name="story_live_id", condition=condition),
    ]
