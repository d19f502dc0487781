"""Conditional GET for reader pages: one ETag and Last-Modified for everything readers can see.

Every reader page, feed and sitemap answers 304 Not Modified while the set of live
stories has not changed (``reader_conditional``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.http import condition

from ..models import STORY_DATE_FIELDS, AuditEntry, State, Story, live_condition, readable_dates

logger = logging.getLogger(__name__)

UNREADABLE_REPORTED = 20


@dataclass(frozen=True)
class ReaderVersion:
    """When the set of live stories last changed, in one aggregate query."""

    last_changed: datetime | None
    etag: str


def reader_version(request: HttpRequest) -> ReaderVersion:
    """Validators that depend only on what readers can see.

    One scan of the stories, no joins: editing a live story moves its
    ``updated_at``; the clock passing a go-live or expiry time moves nothing,
    so those instants count too; the number and the ids of live stories change
    when one appears or goes. The moment a story was last taken off the site
    (unpublished, rejected, expired) comes from the audit trail. Nothing about
    stories readers cannot see takes part.
    """
    cached = getattr(request, "_reader_version", None)
    if cached is not None:
        return cached
    now = timezone.now()
    live = live_condition(now)
    published = Q(state=State.PUBLISHED)
    figures = Story.objects.aggregate(
        changed=Max("updated_at", filter=live),
        went_live=Max("go_live_at", filter=live),
        expired=Max("expire_at", filter=published & readable_dates("expire_at") & Q(expire_at__lte=now)),
        total=Count("pk", filter=live),
        ids=Sum("pk", filter=live),
        unreadable=Count("pk", filter=published & ~readable_dates(*STORY_DATE_FIELDS)),
    )
    if figures.pop("unreadable"):
        report_unreadable(Story.objects.published())
    figures["withdrawn"] = last_withdrawal()
    moments = [
        figures[key] for key in ("changed", "went_live", "expired", "withdrawn") if figures[key] is not None
    ]
    fingerprint = "|".join(str(figures[key]) for key in sorted(figures))
    version = ReaderVersion(
        last_changed=max(moments) if moments else None,
        etag=hashlib.sha256(fingerprint.encode()).hexdigest()[:32],
    )
    request._reader_version = version
    return version


def last_withdrawal() -> datetime | None:
    """When a story last left the published state (the audit trail records every such move)."""
    left = Q(after=State.IN_REVIEW) | Q(after=State.DRAFT) | Q(after=State.REJECTED)
    return (
        AuditEntry.objects.filter(left, field="state", before=State.PUBLISHED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def report_unreadable(stories: QuerySet) -> None:
    """Log the stories left out of reader pages because a date of theirs cannot be loaded."""
    ids = list(stories.unreadable().order_by("pk").values_list("pk", flat=True)[:UNREADABLE_REPORTED])
    for story_id in ids:
        logger.error(
            "story %s left out of reader pages: a date (%s) is outside years 1-9999",
            story_id,
            ", ".join(STORY_DATE_FIELDS),
        )


def reader_etag(request: HttpRequest, *args, **kwargs) -> str:
    return reader_version(request).etag


def reader_last_modified(request: HttpRequest, *args, **kwargs) -> datetime | None:
    return reader_version(request).last_changed


reader_conditional = condition(etag_func=reader_etag, last_modified_func=reader_last_modified)
