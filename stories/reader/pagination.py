"""Pages of a reader listing, in a fixed number of queries however long the listing.

The first ``NUMBERED_PAGES`` pages have numbers (``?page=3``: a short OFFSET). Past them,
"Older" and "Newer" links carry a cursor, the position of the last or first story shown in
the listing's order (``?after=…``, ``?before=…``): the next page starts inside the order's
index at that story (``ReaderOrder.beyond``), as cheap on the ten-thousandth page as on the
second, and stable when stories tie, since the id ends every position. Counting stops at
``COUNT_LIMIT`` ("more than 100 stories"), or lower where the listing says so (a search counts
no further than its candidates). A listing without a reader order (search by relevance) has
numbered pages only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet
from django.http import QueryDict

from ..models.orders import Position, ReaderOrder

PAGE_SIZE = 20
NUMBERED_PAGES = 5
COUNT_LIMIT = PAGE_SIZE * NUMBERED_PAGES
PAGE_PARAMETERS = ("page", "after", "before")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR_PART = re.compile(r"-?[0-9]{1,20}")
PAGE_NUMBER = re.compile(r"[0-9]{1,9}")


def encode_position(position: Position) -> str:
    """A position as text for a URL: whole numbers (a date as microseconds since 1970) joined by dots."""
    parts = []
    for value in position:
        if isinstance(value, datetime):
            value = (value - EPOCH) // timedelta(microseconds=1)
        parts.append(str(value))
    return ".".join(parts)


def decode_position(order: ReaderOrder, text: str) -> Position | None:
    """The position ``text`` names in ``order``, or None when it names none a story could have."""
    parts = text.split(".")
    if len(parts) != len(order.keys) or not all(CURSOR_PART.fullmatch(part) for part in parts):
        return None
    position = []
    for key, part in zip(order.keys, parts, strict=True):
        value: int | datetime = int(part)
        if isinstance(key.low, datetime):
            try:
                value = EPOCH + timedelta(microseconds=value)
            except OverflowError:
                return None
        if not key.accepts(value):
            return None
        position.append(value)
    return tuple(position)


@dataclass
class ListingPage:
    """One page of a listing, and the query strings of the pages around it."""

    stories: list
    number: int | None = None  # None on a page reached by cursor
    count: int | None = None  # stories in the listing, counted up to COUNT_LIMIT + 1
    newer: str | None = None
    older: str | None = None
    first: str | None = None  # the first page, from a page reached by cursor
    numbers: list[tuple[int, str]] = field(default_factory=list)
    missing: str = ""  # why the page asked for does not exist (answered with a 404)
    count_limit: int = COUNT_LIMIT  # counting stopped past it

    @property
    def count_capped(self) -> bool:
        return self.count is not None and self.count > self.count_limit

    @property
    def has_other_pages(self) -> bool:
        return self.newer is not None or self.older is not None


class Listing:
    """Builds the page a request asks for; ``order`` None keeps the queryset's own order.
    ``count_limit``: how far to count (at most ``COUNT_LIMIT``)."""

    def __init__(
        self,
        queryset: QuerySet,
        *,
        order: ReaderOrder | None,
        params: QueryDict,
        count_limit: int = COUNT_LIMIT,
    ) -> None:
        self.queryset, self.order, self.params = queryset, order, params
        self.count_limit = min(count_limit, COUNT_LIMIT)

    def page(self) -> ListingPage:
        after, before = self.params.get("after"), self.params.get("before")
        if self.order is not None and (after or before):
            position = decode_position(self.order, after or before)
            if position is None:
                return self.missing("This link to older or newer stories is not valid.")
            return self.after(position) if after else self.before(position)
        if self.order is not None and (after is not None or before is not None):
            return self.missing("This link to older or newer stories is not valid.")
        return self.numbered(self.params.get("page") or "1")

    def query(self, **changes: object) -> str:
        """The current query string, another page asked for."""
        query = self.params.copy()
        for name in PAGE_PARAMETERS:
            query.pop(name, None)
        for name, value in changes.items():
            if value is not None:
                query[name] = str(value)
        return query.urlencode()

    def missing(self, message: str) -> ListingPage:
        return ListingPage([], missing=message, first=self.query())

    def ordered(self, *, reverse: bool = False) -> QuerySet:
        if self.order is None:
            return self.queryset
        return self.queryset.order_by(*self.order.order_by(reverse=reverse))

    def cursor(self, story) -> str:
        return encode_position(self.order.position(story))

    def numbered(self, text: str) -> ListingPage:
        number = int(text) if PAGE_NUMBER.fullmatch(text) else 0
        if not 1 <= number <= NUMBERED_PAGES:
            if number > NUMBERED_PAGES:
                message = (
                    f"Page numbers stop at {NUMBERED_PAGES}. From page {NUMBERED_PAGES}, "
                    "the “Older” link leads further back."
                    if self.order is not None
                    else f"Only the first {self.count_limit} results are shown. "
                    "Try more precise words or filters."
                )
                return self.missing(message)
            return self.missing("There is no such page.")
        ordered = self.ordered()
        limit = self.count_limit
        count = len(ordered.prefetch_related(None).values_list("pk", flat=True)[: limit + 1])
        pages = max(1, -(-min(count, limit) // PAGE_SIZE))
        if number > pages:
            return self.missing("There is no such page: the listing is shorter.")
        start = (number - 1) * PAGE_SIZE
        stories = list(ordered[start : min(start + PAGE_SIZE, limit)])  # numbered pages stop at the limit
        page = ListingPage(stories, number=number, count=count, count_limit=limit)
        if number > 1:
            page.newer = self.query(page=number - 1 if number > 2 else None)
        if number < pages:
            page.older = self.query(page=number + 1)
        elif count > limit and self.order is not None and stories:
            page.older = self.query(after=self.cursor(stories[-1]))
        if pages > 1:
            page.numbers = [(n, self.query(page=n if n > 1 else None)) for n in range(1, pages + 1)]
        return page

    def after(self, position: Position) -> ListingPage:
        rows = list(self.ordered().filter(self.order.beyond(position))[: PAGE_SIZE + 1])
        stories = rows[:PAGE_SIZE]
        if not stories:
            return self.missing("There are no older stories in this listing.")
        return self.cursor_page(stories, more_older=len(rows) > PAGE_SIZE)

    def before(self, position: Position) -> ListingPage:
        newer = self.ordered(reverse=True).filter(self.order.beyond(position, reverse=True))
        rows = list(newer[: PAGE_SIZE + 1])
        if len(rows) <= PAGE_SIZE:
            # Nothing newer than one page: that is the first page.
            return self.numbered("1")
        return self.cursor_page(rows[:PAGE_SIZE][::-1], more_older=True)

    def cursor_page(self, stories: list, *, more_older: bool) -> ListingPage:
        return ListingPage(
            stories,
            newer=self.query(before=self.cursor(stories[0])),
            older=self.query(after=self.cursor(stories[-1])) if more_older else None,
            first=self.query(),
        )
