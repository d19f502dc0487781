"""Import runs: what each import of a batch of story files did, story by story."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .story import Story


class ImportOutcome(models.TextChoices):
    """What an import did with one file: the importer's, the runs', the admin's and the command's word."""

    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    CONFLICT = "conflict", "Conflict, the story's values kept"
    FAILED = "failed", "Failed"

    @property
    def count_key(self) -> str:
        """The name of this outcome's count in ``ImportReport.counts`` and on ``ImportRun``."""
        return "conflicts" if self is ImportOutcome.CONFLICT else self.value

    @property
    def wrote(self) -> bool:
        """Whether a file with this outcome may have written to its story."""
        return self in (ImportOutcome.CREATED, ImportOutcome.UPDATED, ImportOutcome.CONFLICT)


class ImportRun(models.Model):
    """One import of a batch of story files, from the command line or the admin."""

    class Via(models.TextChoices):
        COMMAND = "command", "Command line"
        ADMIN = "admin", "Admin upload"
        SPREADSHEET = "spreadsheet", "Spreadsheet"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        REVERTED = "reverted", "Reverted"
        INTERRUPTED = "interrupted", "Interrupted"
        CRASHED = "crashed", "Crashed"

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=20, choices=Via.choices, default=Via.COMMAND)
    source = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True, help_text="[{path, reason}] for each failed file.")
    error = models.TextField(blank=True, help_text="Why the run stopped, when it crashed.")
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stories = models.ManyToManyField(Story, through="ImportRunStory", related_name="import_runs", blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.get_via_display()}, {self.started_at:%Y-%m-%d %H:%M})"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None


class ImportRunStory(models.Model):
    """What one import run did to one story, and what it needs to be undone.

    A file whose values the story kept (``conflicts``) leaves its proposal here (``proposed``)
    for a moderator to accept or dismiss (``stories.imports.conflicts``).
    """

    class Resolution(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="entries")
    story = models.ForeignKey(
        Story, on_delete=models.SET_NULL, null=True, blank=True, related_name="import_entries"
    )
    path = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=ImportOutcome.choices)
    previous = models.JSONField(null=True, blank=True, help_text="The story's source record before this run.")
    conflicts = models.JSONField(
        default=list, blank=True, help_text="Editorial fields kept against the file."
    )
    held = models.JSONField(
        default=list,
        blank=True,
        help_text="Those of the conflicts held for a moderator: the story is published and the "
        "person who imported the file may not change what readers see.",
    )
    proposed = models.JSONField(
        null=True,
        blank=True,
        help_text="What the file proposed for the conflicts: {record: the file's record (JSON form), "
        "values: {key: [the story's value, the file's value]}}.",
    )
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True, default="")
    conflict_version = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The story's version once the import wrote it: a later change makes the conflict stale.",
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.path or self.story_id}: {self.get_outcome_display()}"
