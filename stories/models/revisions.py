"""Revisions: every change to a story, kept whole, so it can be reviewed, compared and restored.

A revision is an immutable snapshot of a story as the story file format sees it, plus its
editorial values (``data``: the source record in the format's JSON form, state, quality,
heat, topics, ``editor_touched``, source hash; ``stories.snapshots.snapshot_of`` writes it).

The story's rows always hold what readers see. A change to a published story by someone
who may not publish is not written to the rows: it is kept as a **draft** revision
(``is_draft``), named by ``Story.draft_revision`` until a moderator publishes or discards
it. The live revision of a story is its newest revision that is not a draft.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .runs import ImportRun
from .story import Story


class RevisionQuerySet(models.QuerySet):
    def live(self):
        """Revisions that were (or are) what the story's rows held: not drafts."""
        return self.filter(is_draft=False)


class Revision(models.Model):
    """One whole version of a story: who made it, when, why, and what it was based on."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="revisions")
    created_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    import_run = models.ForeignKey(
        ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="revisions"
    )
    reason = models.TextField(blank=True, help_text="The author's comment, or what made the change.")
    based_on = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    is_draft = models.BooleanField(
        default=False, help_text="A change to a published story that waits for a moderator."
    )
    data = models.JSONField(
        help_text="The story as a file plus its editorial values (snapshots.snapshot_of)."
    )

    objects = RevisionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["story", "-id"], name="revision_story_newest")]

    def __str__(self) -> str:
        return f"Revision #{self.pk} of story #{self.story_id}"

    @property
    def by(self) -> str:
        """Who made it: a person, an import run, or the system (the scheduler)."""
        if self.author_id:
            return str(self.author)
        if self.import_run_id:
            return f"Import #{self.import_run_id}"
        return "System"
