"""The window in which readers may see a story, and the scheduler that records it.

Scheduled publishing is *publish* with a future ``go_live_at``; readers see a story only
inside its window (``Story.objects.live()``) whether or not the scheduler runs.
``schedule()`` changes the window of a story in any state; on an unpublished story the
window takes effect once it is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from stories import audit
from stories.models import AuditEntry, ImportRun, State, Story

from .errors import WorkflowError
from .permissions import SCHEDULE_PERMISSION, require
from .revisions import baseline_of, record_revision
from .versioned import check_version, write_versioned


def audit_value(value: Any) -> Any:
    """``value`` as an audit entry keeps it (JSON): dates in ISO format, rows by their name."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "_meta"):  # a model instance, e.g. the provider
        return str(value)
    return value


def validate_window(go_live_at: datetime | None, expire_at: datetime | None) -> None:
    for name, value in (("go-live time", go_live_at), ("expiry time", expire_at)):
        if value is not None and timezone.is_naive(value):
            raise WorkflowError(f"The {name} needs a time zone.")
    if go_live_at is not None and expire_at is not None and expire_at <= go_live_at:
        raise WorkflowError("The expiry time must be after the go-live time.")


def record_window(story: Story, before: dict, after: dict, *, actor, import_run, comment: str) -> None:
    """One audit entry per go-live/expiry field that changed."""
    for name, value in after.items():
        audit.record(
            story=story,
            action=AuditEntry.Action.SCHEDULE,
            actor=actor,
            import_run=import_run,
            field=name,
            before=audit_value(before[name]),
            after=audit_value(value),
            comment=comment,
        )


@transaction.atomic
def schedule(
    story: Story,
    *,
    actor,
    go_live_at: datetime | None,
    expire_at: datetime | None,
    expected_version: int | None = None,
    comment: str = "",
    import_run: ImportRun | None = None,
) -> Story:
    """Set the window in which readers may see ``story`` (``None`` = no bound)."""
    require(actor, SCHEDULE_PERMISSION, "schedule stories")
    expected = check_version(story, expected_version)
    validate_window(go_live_at, expire_at)
    changes = {
        name: value
        for name, value in (("go_live_at", go_live_at), ("expire_at", expire_at))
        if getattr(story, name) != value
    }
    if not changes:
        return story
    before = {name: getattr(story, name) for name in changes}
    baseline = baseline_of(story)
    write_versioned(story, expected=expected, changes=changes)
    record_window(story, before, changes, actor=actor, import_run=import_run, comment=comment)
    reason = f"Scheduled: {comment}" if comment else "Scheduled"
    record_revision(story, actor=actor, reason=reason, import_run=import_run, baseline=baseline)
    return story


# --- The scheduler ---------------------------------------------------------------------------


@dataclass
class ScheduleReport:
    went_live: list[Story] = field(default_factory=list)
    expired: list[Story] = field(default_factory=list)


def _last_publish_subquery():
    return Subquery(
        AuditEntry.objects.filter(story=OuterRef("pk"), action=AuditEntry.Action.PUBLISH)
        .order_by("-created_at")
        .values("created_at")[:1]
    )


def due_to_go_live(now: datetime) -> QuerySet[Story]:
    """Published stories whose go-live time passed after they were published, not yet recorded."""
    already = AuditEntry.objects.filter(
        story=OuterRef("pk"), action=AuditEntry.Action.WENT_LIVE, created_at=OuterRef("go_live_at")
    )
    return (
        Story.objects.published()
        .filter(go_live_at__isnull=False, go_live_at__lte=now)
        .annotate(last_publish=_last_publish_subquery())
        .filter(last_publish__lt=F("go_live_at"))
        .exclude(Exists(already))
        .order_by("go_live_at", "pk")
    )


def due_to_expire(now: datetime) -> QuerySet[Story]:
    return (
        Story.objects.published()
        .filter(expire_at__isnull=False, expire_at__lte=now)
        .order_by("expire_at", "pk")
    )


def _record_at(when: datetime, **kwargs) -> None:
    entry = audit.record(**kwargs)
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=when)


@transaction.atomic
def apply_schedule(*, now: datetime | None = None, dry_run: bool = False) -> ScheduleReport:
    """Record scheduled go-lives and expiries that have happened, at the times they happened.

    Idempotent: a go-live is recorded once; an expired story leaves *published*
    (to *in review*), so it is not found again. Readers never depend on this:
    ``Story.objects.live()`` already honours the window.
    """
    now = now or timezone.now()
    going_live, expiring = due_to_go_live(now), due_to_expire(now)
    if not dry_run:
        # Two schedulers started at once must not both record the same transition.
        going_live = going_live.select_for_update(of=("self",))
        expiring = expiring.select_for_update(of=("self",))
    report = ScheduleReport(went_live=list(going_live), expired=list(expiring))
    if dry_run:
        return report
    # A go-live changes nothing a revision keeps (the window was kept when it was set): no revision.
    for story in report.went_live:
        _record_at(
            story.go_live_at,
            story=story,
            action=AuditEntry.Action.WENT_LIVE,
            field="state",
            before=State.PUBLISHED,
            after=State.PUBLISHED,
            comment="Scheduled go-live time reached.",
        )
    for story in report.expired:
        expired_at = story.expire_at
        comment = f"Expired at {expired_at:%Y-%m-%d %H:%M %Z}."
        baseline = baseline_of(story)
        write_versioned(
            story, expected=story.version, changes={"state": State.IN_REVIEW, "state_comment": comment}
        )
        _record_at(
            expired_at,
            story=story,
            action=AuditEntry.Action.EXPIRED,
            field="state",
            before=State.PUBLISHED,
            after=State.IN_REVIEW,
            comment=comment,
        )
        record_revision(story, actor=None, reason=comment, baseline=baseline)
    return report
