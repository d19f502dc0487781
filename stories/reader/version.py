"""The reader version: one counter for everything readers can see, shared by every process.

Every reader validator (ETag, Last-Modified) and every cached reader page is keyed on it
(``conditional``, ``caching``), so "has anything changed?" costs one cache read, or one
query when the cache is cold, whatever the number of stories.

- Writes: ``changed()`` is called where something a reader can see is written: the
  workflow's one row write (``workflow.versioned.write_versioned``) for a story that is or
  becomes published, an import's new published stories, undoing an import, merges, topic and
  provider edits, images cached. The counter moves once per committed transaction, after it
  commits (``transaction.on_commit``): a transaction or a savepoint that is rolled back (a
  draft is written in one) moves nothing.
- Reads: ``current()`` takes the version from the cache (``CACHES["default"]``), else from
  its row (``models.ReaderVersion``).
- The clock: the row keeps the next go-live or expiry of a published story
  (``next_boundary``); the first read after it passes moves the counter and looks up the
  next one (two index lookups). No scheduler needs to run for validators to change.

Ordering is what makes a cached page right: a page is rendered after the version is read,
and the version moves after the change commits, so a page stored under a version never
misses a change made before that version.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import LATEST_READABLE, STORY_DATE_FIELDS, ReaderVersion, Story

logger = logging.getLogger(__name__)

CACHE_KEY = "reader-version"
# How long a process trusts the cached version without its row: bounds how long a lost cache
# update lasts (the cache unreachable during a change, two changes committing at once).
CACHE_SECONDS = 60
UNREADABLE_REPORTED = 20
WINDOW_FIELDS = ("go_live_at", "expire_at")


@dataclass(frozen=True)
class Version:
    """The reader version as every process sees it (what the cache holds)."""

    token: str
    counter: int
    changed_at: datetime
    shared: int
    shared_changed_at: datetime
    next_boundary: datetime | None

    @property
    def etag(self) -> str:
        """The whole reader site's validator (and the cache keys' version)."""
        return f"{self.token}.{self.counter}"

    def is_after(self, other: Version) -> bool:
        return self.token != other.token or self.counter > other.counter


def _version(row: ReaderVersion) -> Version:
    return Version(
        token=row.token,
        counter=row.counter,
        changed_at=row.changed_at,
        shared=row.shared,
        shared_changed_at=row.shared_changed_at,
        next_boundary=row.next_boundary,
    )


# --- Reading -----------------------------------------------------------------------------------


def current(*, now: datetime | None = None) -> Version:
    """The reader version now: from the cache, else from its row; moved first if the next
    scheduled go-live or expiry has passed."""
    now = now or timezone.now()
    version = _from_cache()
    if version is None:
        version = _from_row()
        _cache_add(version)
    if version.next_boundary is not None and version.next_boundary <= now:
        version = _pass_boundaries(version, now)
    return version


def _from_row() -> Version:
    row = ReaderVersion.objects.filter(pk=ReaderVersion.ROW).first()
    return _version(row if row is not None else _create_row())


def _create_row() -> ReaderVersion:
    row, _ = ReaderVersion.objects.get_or_create(
        pk=ReaderVersion.ROW, defaults={"next_boundary": next_boundary(timezone.now())}
    )
    return row


def _pass_boundaries(seen: Version, now: datetime) -> Version:
    """Move the counter for a go-live or expiry that has passed (once, whoever gets there first)."""
    version = seen
    while version.next_boundary is not None and version.next_boundary <= now:
        with transaction.atomic():
            ReaderVersion.objects.filter(
                pk=ReaderVersion.ROW, token=version.token, next_boundary=version.next_boundary
            ).update(
                counter=F("counter") + 1,
                changed_at=Greatest(F("changed_at"), Value(version.next_boundary)),
                next_boundary=next_boundary(now),
            )
            version = _from_row()
    _cache_set(version)
    return version


def next_boundary(now: datetime) -> datetime | None:
    """The next moment the live set changes by itself: a published story's go-live or expiry."""
    published = Story.objects.published()
    found = [
        published.filter(**{f"{name}__gt": now, f"{name}__lte": LATEST_READABLE})
        .order_by(name)
        .values_list(name, flat=True)
        .first()
        for name in WINDOW_FIELDS
    ]
    moments = [moment for moment in found if moment is not None]
    return min(moments) if moments else None


# --- Writing -----------------------------------------------------------------------------------


class _Pending:
    """The change of one transaction: the counter moves once, whatever number of rows it wrote."""

    def __init__(self) -> None:
        self.shared = False
        self.done = False

    def flush(self) -> None:
        if not self.done:
            self.done = True
            bump(shared=self.shared)


_pending = threading.local()


def changed(*, shared: bool = False) -> None:
    """Something readers can see changes in the current transaction: move the counter once it
    commits (at once outside a transaction). ``shared``: the change is no one story's (a topic or
    provider, images), so every story page's validators move too."""
    pending = getattr(_pending, "change", None)
    if pending is None or pending.done:
        pending = _pending.change = _Pending()
    pending.shared = pending.shared or shared
    # One callback per call: a savepoint rolled back drops its own, the others still flush.
    transaction.on_commit(pending.flush, robust=True)


def bump(*, shared: bool = False) -> Version:
    """Move the counter now, look up the next scheduled boundary, and tell the cache.

    ``changed()`` calls it after the change commits; call it directly only where no transaction
    holds the change (a test's factory, a command that wrote in autocommit).
    """
    now = timezone.now()
    moves = {
        "counter": F("counter") + 1,
        "changed_at": Greatest(F("changed_at"), Value(now)),
        "next_boundary": next_boundary(now),
    }
    if shared:
        moves["shared"] = F("shared") + 1
        moves["shared_changed_at"] = Greatest(F("shared_changed_at"), Value(now))
    with transaction.atomic():
        if not ReaderVersion.objects.filter(pk=ReaderVersion.ROW).update(**moves):
            _create_row()
        version = _from_row()
    _cache_set(version)
    report_unreadable()
    return version


def report_unreadable() -> None:
    """Log the published stories left out of reader pages because a date of theirs cannot be loaded.
    Only PostgreSQL can hold such a date (one index probe, ``story_unreadable``); SQLite cannot."""
    if connection.vendor != "postgresql":
        return
    ids = Story.objects.published().unreadable().values_list("pk", flat=True)
    for story_id in sorted(ids[:UNREADABLE_REPORTED]):
        logger.error(
            "story %s left out of reader pages: a date (%s) is outside years 1-9999",
            story_id,
            ", ".join(STORY_DATE_FIELDS),
        )


# --- The cache ---------------------------------------------------------------------------------


# A cache that cannot be reached answers as an empty one (``newsroom.cache``): the row is read.


def _from_cache() -> Version | None:
    return cache.get(CACHE_KEY)


def _cache_add(version: Version) -> None:
    # ``add``: a version a writer set meanwhile is newer than the row this process read.
    cache.add(CACHE_KEY, version, CACHE_SECONDS)


def _cache_set(version: Version) -> None:
    cached = cache.get(CACHE_KEY)
    if cached is None or version.is_after(cached):
        cache.set(CACHE_KEY, version, CACHE_SECONDS)
