"""Counts for staff lists that never walk a whole large table: capped, or estimated.

The admin's change lists and the moderation queue page through tables that can hold
hundreds of thousands of stories. Counting every matching row on each page load costs
a full scan, so a list counts at most ``COUNT_CAP`` rows; past that it says "more than"
(or, for a whole table on PostgreSQL, "about" the planner's estimate) and pages that far.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, IntegerField, Model, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

COUNT_CAP = 10_000


def capped_count(queryset: QuerySet, cap: int) -> int:
    """How many rows ``queryset`` has, counting no further than ``cap + 1``."""
    # Only the ids: the rows' annotations (per-row counts) are not computed to be counted.
    return queryset.order_by().values("pk")[: cap + 1].count()


def table_estimate(model: type[Model], *, using: str = "default") -> int | None:
    """The planner's row estimate for ``model``'s whole table (PostgreSQL), or None."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    # -1 or 0 means never analysed: no estimate.
    return int(row[0]) if row and row[0] > 0 else None


class CappedPaginator(Paginator):
    """A paginator whose count stops at ``cap``.

    Up to ``cap`` rows the count is exact. Past it, ``count_is_exact`` is False and the
    count is ``estimate`` when one is given and larger (e.g. the table's estimate for an
    unfiltered list), else ``cap + 1``: enough pages to walk to the cap.
    """

    def __init__(self, *args, cap: int | None = None, estimate=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cap = COUNT_CAP if cap is None else cap
        self.estimate = estimate
        self.count_is_exact = True
        self.count_is_estimate = False

    @cached_property
    def count(self) -> int:
        counted = capped_count(self.object_list, self.cap)
        if counted <= self.cap:
            return counted
        self.count_is_exact = False
        estimated = self.estimate() if self.estimate is not None else None
        if estimated is not None and estimated > counted:
            self.count_is_estimate = True
            return estimated
        return counted

    def page(self, number):
        number = self.validate_number(number)
        if self.count_is_exact:
            return super().page(number)
        # Past the cap the count is a floor: a page is never cut short at it.
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)


def related_count(model, field: str) -> Coalesce:
    """An annotation: how many ``model`` rows point at the row through ``field``.

    A correlated subquery, so a change list computes it for the rows it shows only (a
    ``Count`` join would group the whole table first), and the autocomplete, which uses
    the admin's queryset too, never computes it at all.
    """
    counts = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))
