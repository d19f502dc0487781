"""Undoing an import run, through the workflow like any other change.

``revert_import_run()`` carries out what ``revert_plan.plan_revert()`` decided (the rules
are there; the admin shows that plan as a preview first):

* a story the run **created** is deleted, unless someone has worked on it since;
* a story the run **updated** gets back the revision before the run (through
  ``restore_story``, which hands the workflow a plan like an import's:
  ``workflow.apply_plan``, one versioned write, audited), kept as a new revision; the
  editorial values a person set since stand;
* a story a person corrected since, or that a later import updated again, is kept and listed
  with the reason;
* everything is recorded in the audit trail, and the run is marked reverted
  (``status``, ``reverted_at``, ``reverted_by``). A run is reverted once.

Choices an undo makes: providers and topics the run created stay
(other stories may use them); reverting needs ``stories.publish_story`` (the
moderators' permission); the undo is all or nothing (one transaction), so a
failure half-way leaves the run as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from stories import audit
from stories.models import AuditEntry, ImportRun, State, Story
from stories.reader import version as reader_version
from stories.records import stories_with_rows
from stories.storyfile import record_from_json
from stories.workflow import Plan, apply_plan
from stories.workflow.permissions import MODERATE_PERMISSION, has_perm
from stories.workflow.revisions import record_revision

from .references import References
from .revert_plan import (
    DELETE,
    KEEP,
    STALE_RUN_AFTER,
    UNDO_ACTION,
    RevertError,
    RevertStep,
    plan_revert,
)
from .writer import EVERY_PART, StoryWriter

__all__ = [
    "STALE_RUN_AFTER",
    "RevertError",
    "RevertReport",
    "plan_revert",
    "restore_story",
    "revert_import_run",
]

REVERT_PERMISSION = MODERATE_PERMISSION
RESTORED_COMMENT = "Restored by undoing an import."


@dataclass(frozen=True)
class KeptStory:
    story_id: int
    title: str
    reason: str


@dataclass
class RevertReport:
    run: ImportRun
    deleted: list[tuple[int, str]] = field(default_factory=list)
    restored: list[tuple[int, str]] = field(default_factory=list)
    kept: list[KeptStory] = field(default_factory=list)
    gone: int = 0  # stories the run touched that no longer exist

    def summary(self) -> str:
        return f"deleted {len(self.deleted)}, restored {len(self.restored)}, kept {len(self.kept)}" + (
            f", already gone {self.gone}" if self.gone else ""
        )


def may_revert(actor) -> bool:
    return has_perm(actor, REVERT_PERMISSION)


@transaction.atomic
def revert_import_run(run: ImportRun, *, actor, expected: str | None = None) -> RevertReport:
    """Undo ``run`` (see the module docstring). Raises PermissionDenied or RevertError.

    ``expected``: the fingerprint of the plan the person saw; a plan that changed since is
    refused (``RevertError``) and nothing is written."""
    if not may_revert(actor):
        raise PermissionDenied("You do not have permission to revert import runs.")
    run = ImportRun.objects.select_for_update().get(pk=run.pk)
    plan = plan_revert(run)
    if expected is not None and plan.fingerprint() != expected:
        raise RevertError(
            f"What reverting import #{run.pk} would do has changed since the preview; nothing was "
            "reverted. Look at the new preview and confirm again."
        )
    report = RevertReport(run=run, gone=plan.gone)
    for step in plan.steps:
        _carry_out(run, step, actor=actor, report=report)
    run.status = ImportRun.Status.REVERTED
    run.reverted_at = timezone.now()
    run.reverted_by = actor
    run.save(update_fields=["status", "reverted_at", "reverted_by"])
    audit.record(
        story=None,
        action=AuditEntry.Action.IMPORT_REVERTED,
        actor=actor,
        import_run=run,
        comment=f"Import #{run.pk} reverted: {report.summary()}.",
    )
    return report


def _carry_out(run: ImportRun, step: RevertStep, *, actor, report: RevertReport) -> None:
    story = Story.objects.select_for_update(of=("self",)).get(pk=step.story_id)
    if step.action == KEEP:
        report.kept.append(KeptStory(story_id=story.pk, title=story.title, reason=step.reason))
        comment = f"Kept when import #{run.pk} was reverted: {step.reason}."
        audit.record(story=story, action=UNDO_ACTION, actor=actor, import_run=run, comment=comment)
    elif step.action == DELETE:
        audit.record(
            story=story,
            action=UNDO_ACTION,
            actor=actor,
            import_run=run,
            field="state",
            before=story.state,
            after=None,
            comment=f"Deleted: import #{run.pk} created it and was reverted.",
        )
        report.deleted.append((story.pk, story.title))
        if story.state == State.PUBLISHED:
            reader_version.changed()
        story.delete()
    else:
        _restore(run, step, story, actor=actor)
        report.restored.append((story.pk, story.title))


def _restore(run: ImportRun, step: RevertStep, story: Story, *, actor) -> None:
    restore_story(story=story, previous=step.snapshot, actor=actor, import_run=run)
    comment = f"Source values from before import #{run.pk} restored" + (
        f"; kept the editor's {', '.join(step.kept_editorial)}" if step.kept_editorial else ""
    )
    comment += "."
    audit.record(
        story=story, action=UNDO_ACTION, actor=actor, import_run=run, field="source", comment=comment
    )
    record_revision(story, actor=actor, reason=comment, import_run=run)


@transaction.atomic
def restore_story(
    *,
    story: Story,
    previous: dict,
    actor=None,
    import_run: ImportRun | None = None,
    comment: str = RESTORED_COMMENT,
    audit_action: str = UNDO_ACTION,
) -> Story:
    """Put a story back as a snapshot describes it (``snapshots.snapshot_of``: a ``Revision.data``,
    or ``ImportRunStory.previous``): what undoing an import run, restoring a revision and
    publishing a draft do.

    Source fields, editorial values, state and ``editor_touched`` all return to
    their values before the import, in one workflow plan: one versioned write
    (``StaleStoryError`` if the story is changed by someone else meanwhile), an
    audit entry for each of state, quality, heat and topics that changes.
    """
    story = stories_with_rows().get(pk=story.pk)
    plan = Plan(
        source=record_from_json(previous["record"]),
        parts=EVERY_PART,
        restore_state=previous["state"],
        quality=previous["quality"],
        heat=previous["heat"],
        topics=tuple(previous["topics"]),
        touched=tuple(previous["editor_touched"]),
        bookkeeping={"source_hash": previous["source_hash"], "superseded_hashes": []},
        audit_action=audit_action,
        comment=comment,
    )
    apply_plan(story, plan, actor=actor, import_run=import_run, writer=StoryWriter(References()))
    return story
