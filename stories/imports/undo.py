"""Undoing an import run, through the workflow like any other change.

``revert_import_run()`` undoes what one import run wrote:

* a story the run **created** is deleted, unless someone has worked on it since:
  a person changed it (an audit entry by a person after the run started: an edit
  of its content, topics, related links or images, a new lead image, a workflow
  move; or fields marked ``editor_touched``), or a later import run updated it.
  Those stories are kept and listed with the reason;
* a story the run **updated** gets its previous source record back
  (``ImportRunStory.previous``, through ``restore_story``, which hands the workflow a
  plan like an import's: ``workflow.apply_plan``, one versioned write, audited). Editorial
  values (published/state, quality, heat, topics) a person set since the run are
  kept. A story whose source fields, related links or images a person corrected
  since, or that a later, unreverted import updated again, is kept as it is and
  listed: restoring it would silently throw that work away;
* everything is recorded in the audit trail, and the run is marked reverted
  (``status``, ``reverted_at``, ``reverted_by``). A run is reverted once.

Choices an undo makes: providers and topics the run created stay
(other stories may use them); reverting needs ``stories.publish_story`` (the
moderators' permission); the undo is all or nothing (one transaction), so a
failure half-way leaves the run as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from stories import audit
from stories.models import AuditEntry, ImportRun, ImportRunStory, Story
from stories.records import stories_with_rows
from stories.storyfile import record_from_json
from stories.workflow import CONTENT_FIELDS, EDITORIAL_FIELDS, Plan, apply_plan
from stories.workflow.permissions import MODERATE_PERMISSION, has_perm

from .outcomes import ImportOutcome
from .references import References
from .writer import EVERY_PART, StoryWriter

REVERT_PERMISSION = MODERATE_PERMISSION
UNDO_ACTION = AuditEntry.Action.IMPORT_UNDO
RESTORED_COMMENT = "Restored by undoing an import."

# Audit fields that are editorial decisions; "state" is the published flag's workflow side.
_EDITORIAL_AUDIT_FIELDS = {"state": "published", "quality": "quality", "heat": "heat", "topics": "topics"}
# Audit fields of the story's source that restoring the previous record would overwrite.
_SOURCE_AUDIT_FIELDS = CONTENT_FIELDS | {"related", "images"}


class RevertError(ValidationError):
    """The run cannot be reverted; the message says why. Nothing was written."""

    def __str__(self) -> str:
        return " ".join(self.messages)


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


# A run still marked running after this long was left behind by a killed process (a
# finished, failed or interrupted import always records its end): it may be reverted.
STALE_RUN_AFTER = dt.timedelta(hours=1)


@transaction.atomic
def revert_import_run(run: ImportRun, *, actor) -> RevertReport:
    """Undo ``run`` (see the module docstring). Raises PermissionDenied or RevertError."""
    if not may_revert(actor):
        raise PermissionDenied("You do not have permission to revert import runs.")
    run = ImportRun.objects.select_for_update().get(pk=run.pk)
    if run.status == ImportRun.Status.REVERTED:
        when = f" on {run.reverted_at:%Y-%m-%d %H:%M %Z}" if run.reverted_at else ""
        raise RevertError(f"Import #{run.pk} was already reverted{when}.")
    if run.via == ImportRun.Via.SPREADSHEET:
        raise RevertError(
            f"Import #{run.pk} was a spreadsheet import: it records no previous source values, so it "
            "cannot be undone here. Its changes are in each story's history; change them back there."
        )
    if run.status == ImportRun.Status.RUNNING and timezone.now() - run.started_at < STALE_RUN_AFTER:
        raise RevertError(
            f"Import #{run.pk} is still running; revert it once it has finished (a run left running "
            "by a stopped process can be reverted an hour after it started)."
        )

    report = RevertReport(run=run)
    entries = (
        ImportRunStory.objects.filter(run=run, outcome__in=_WRITING_OUTCOMES)
        .select_related("story")
        .order_by("-id")  # newest first: a story created and then updated in one run is undone in order
    )
    for entry in entries.iterator(chunk_size=500):
        story = entry.story
        if story is None:
            report.gone += 1
            continue
        story = Story.objects.select_for_update().get(pk=story.pk)
        if entry.outcome == ImportOutcome.CREATED:
            _undo_create(run, entry, story, actor=actor, report=report)
        elif entry.previous:
            _undo_update(run, entry, story, actor=actor, report=report)

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


_WRITING_OUTCOMES = [outcome for outcome in ImportOutcome if outcome.wrote]


def _person_entries_since(story: Story, run: ImportRun):
    """Audit entries of changes a person made to ``story`` since ``run`` started.

    Entries of story file imports are the files' values, even when a person ran the
    import; a spreadsheet's are a person's decisions.
    """
    return (
        AuditEntry.objects.filter(story=story, actor__isnull=False, created_at__gte=run.started_at)
        .filter(Q(import_run__isnull=True) | Q(import_run__via=ImportRun.Via.SPREADSHEET))
        .exclude(action=UNDO_ACTION)
    )


def _later_import(story: Story, entry: ImportRunStory) -> ImportRunStory | None:
    """A later, not reverted, import run that wrote this story after ``entry``."""
    return (
        ImportRunStory.objects.filter(story=story, id__gt=entry.id, outcome__in=_WRITING_OUTCOMES)
        .exclude(run=entry.run_id)
        .exclude(run__status=ImportRun.Status.REVERTED)
        .filter(Q(previous__isnull=False) | Q(outcome=ImportOutcome.CREATED))
        .order_by("id")
        .first()
    )


def _keep(report: RevertReport, story: Story, reason: str, *, run: ImportRun, actor) -> None:
    report.kept.append(KeptStory(story_id=story.pk, title=story.title, reason=reason))
    audit.record(
        story=story,
        action=UNDO_ACTION,
        actor=actor,
        import_run=run,
        comment=f"Kept when import #{run.pk} was reverted: {reason}.",
    )


def _undo_create(run: ImportRun, entry: ImportRunStory, story: Story, *, actor, report: RevertReport) -> None:
    person = _person_entries_since(story, run).select_related("actor").first()
    touched = [f for f in (story.editor_touched or []) if f in EDITORIAL_FIELDS]
    later = _later_import(story, entry)
    if person is not None:
        _keep(
            report,
            story,
            f"{person.actor} changed it ({person.action} {person.field})".strip(),
            run=run,
            actor=actor,
        )
    elif touched:
        _keep(report, story, f"an editor changed {', '.join(touched)}", run=run, actor=actor)
    elif later is not None:
        _keep(report, story, f"import #{later.run_id} updated it since", run=run, actor=actor)
    else:
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
        story.delete()


def _undo_update(run: ImportRun, entry: ImportRunStory, story: Story, *, actor, report: RevertReport) -> None:
    later = _later_import(story, entry)
    if later is not None:
        _keep(
            report,
            story,
            f"import #{later.run_id} updated it again since; revert that run first",
            run=run,
            actor=actor,
        )
        return
    since = list(_person_entries_since(story, run).values_list("field", flat=True))
    corrected = sorted({name for name in since if name in _SOURCE_AUDIT_FIELDS})
    if corrected:
        _keep(report, story, f"a person corrected {', '.join(corrected)} since", run=run, actor=actor)
        return
    previous = dict(entry.previous)
    editorial_since = {_EDITORIAL_AUDIT_FIELDS[name] for name in since if name in _EDITORIAL_AUDIT_FIELDS}
    previous_touched = list(previous.get("editor_touched") or [])
    if editorial_since:
        # The editor's decisions since the run stand; only the source record goes back.
        if "published" in editorial_since:
            previous["state"] = story.state
        for name in ("quality", "heat"):
            if name in editorial_since:
                previous[name] = getattr(story, name)
        if "topics" in editorial_since:
            previous["topics"] = story.topic_names()
        current_touched = list(story.editor_touched or [])
        previous["editor_touched"] = previous_touched + [
            f for f in current_touched if f not in previous_touched
        ]
    restore_story(story=story, previous=previous, actor=actor, import_run=run)
    audit.record(
        story=story,
        action=UNDO_ACTION,
        actor=actor,
        import_run=run,
        field="source",
        comment=f"Source values from before import #{run.pk} restored"
        + (f"; kept the editor's {', '.join(sorted(editorial_since))}" if editorial_since else "")
        + ".",
    )
    report.restored.append((story.pk, story.title))


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
    """Put a story back as a snapshot describes it (``records.snapshot_of``: a ``Revision.data``,
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
