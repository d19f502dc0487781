"""The audit trail: who changed what of a story, when, from what to what, and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .runs import ImportRun
from .story import Story


class AuditEntry(models.Model):
    """An append-only record of a change to a story: who, when, before, after, why."""

    class Action(models.TextChoices):
        # The workflow's transitions (stories.workflow.transitions.TRANSITIONS)
        SUBMIT = "submit", "Submit for review"
        PUBLISH = "publish", "Publish"
        UNPUBLISH = "unpublish", "Unpublish"
        REJECT = "reject", "Reject"
        REQUEST_CHANGES = "request_changes", "Request changes"
        # A person's (or a file's) change of a value, the go-live/expiry window, the scheduler
        EDIT = "edit", "Edit"
        LEAD_IMAGE = "lead_image", "New lead image"
        SCHEDULE = "schedule", "Schedule"
        WENT_LIVE = "went_live", "Went live"
        EXPIRED = "expired", "Expired"
        MERGE = "merge", "Merge"
        # Imports
        IMPORT = "import", "Created by import"
        HELD = "held", "Held for a moderator"
        IMPORT_UNDO = "import_undo", "Import undone"
        IMPORT_REVERTED = "import_reverted", "Import run reverted"

    story = models.ForeignKey(
        Story, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    story_title = models.CharField(max_length=1000, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    import_run = models.ForeignKey(
        ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    field = models.CharField(max_length=40, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["story", "-created_at"], name="audit_story_created")]

    def __str__(self) -> str:
        who = self.actor or (f"import #{self.import_run_id}" if self.import_run_id else "system")
        return f"{self.created_at:%Y-%m-%d %H:%M} {who}: {self.action} {self.field}".strip()
