"""How a story file changes a stored story: an import, or undoing one.

The import decides what a file may change (``stories.imports.reconcile``) and hands the
result here as a ``Plan``; undoing an import builds one too. ``apply_plan`` checks it
against the workflow (permissions, the state machine, the story's version) and writes the
row once, with one version check, then the story's parts, then the audit trail: the same
guarantees as a person's change, in one call.

The source a plan carries (the file's record) is opaque here: the caller's ``writer``
turns it into columns and rows (``SourceWriter``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction

from stories import audit
from stories.models import AuditEntry, ImportRun, Story, Topic
from stories.snapshots import snapshot_of

from .editorial import forget_prefetched, score_changes, write_topics
from .permissions import EDIT_PERMISSION, MODERATE_PERMISSION, require
from .revisions import record_revision
from .transitions import (
    IMPORT_STATE_COMMENT,
    UNSET,
    record_transition,
    require_transition,
    state_changes,
)
from .versioned import write_versioned

IMPORT_COMMENT = "Changed by import."
HELD_COMMENT = (
    "Held for a moderator: the story is published, and only a moderator can change what readers "
    "see. The story kept its value; the file's is reported as a conflict."
)


@dataclass(frozen=True)
class Held:
    """A value of the file a published story kept for a moderator (audited as ``held``)."""

    key: str  # the file's key
    field: str  # the story's field
    before: Any
    after: Any


@dataclass(frozen=True)
class Plan:
    """What one story file does to one stored story, decided before anything is written."""

    source: Any = None  # the story's source afterwards (the file's record), for the writer
    after: Any = None  # the story as an export shows it afterwards, for reports
    parts: frozenset[str] = frozenset()  # the writer's rows to rewrite ("images", "related" ...)
    action: str | None = None  # the transition the file's published flag asks for
    restore_state: str | None = None  # undoing an import: the state the story had before it
    quality: Any = UNSET
    heat: Any = UNSET
    topics: tuple[str, ...] | None = None  # topic names in order, when they change
    touched: tuple[str, ...] | None = None  # ``editor_touched`` afterwards, when it changes
    bookkeeping: Mapping[str, Any] = field(default_factory=dict)  # the import's own columns
    conflicts: tuple[str, ...] = ()  # file keys whose value the story kept
    held: tuple[Held, ...] = ()  # those of them kept for a moderator
    quiet: bool = False  # nothing a reader or an export sees changes: no new version
    audit_action: str = AuditEntry.Action.EDIT
    comment: str = IMPORT_COMMENT


class SourceWriter(Protocol):
    """Turns a plan's source into a story's columns and rows."""

    def columns(self, story: Story, source: Any) -> dict[str, Any]: ...

    def quiet_columns(self, story: Story, source: Any) -> dict[str, Any]: ...

    def write_parts(self, story: Story, source: Any, parts: frozenset[str]) -> None: ...

    def topics(self, names: Sequence[str]) -> list[Topic]: ...

    def snapshot(self, story: Story, source: Any, topics: Sequence[str]) -> dict:
        """The story as a revision keeps it, once written from ``source`` with ``topics``."""
        ...


def _record_held(story: Story, plan: Plan, *, actor, import_run) -> None:
    for held in plan.held:
        audit.record(
            story=story,
            action=AuditEntry.Action.HELD,
            actor=actor,
            import_run=import_run,
            field=held.field,
            before=held.before,
            after=held.after,
            comment=HELD_COMMENT,
        )


def _apply_quietly(story: Story, plan: Plan, *, writer: SourceWriter) -> None:
    """Remember the file without a new version: nothing anyone sees changes."""
    wanted = writer.quiet_columns(story, plan.source) if plan.source is not None else {}
    wanted |= plan.bookkeeping
    changes = {name: value for name, value in wanted.items() if getattr(story, name) != value}
    if changes:
        Story.objects.filter(pk=story.pk).update(**changes)
        for name, value in changes.items():
            setattr(story, name, value)


def _state(story: Story, plan: Plan, *, actor) -> dict[str, Any]:
    if plan.action is not None:
        require_transition(actor, plan.action, from_file=True)
        return state_changes(
            story,
            plan.action,
            actor=actor,
            comment=IMPORT_STATE_COMMENT,
            expire_at=story.expire_at,
            from_file=True,
        )
    if plan.restore_state is not None and plan.restore_state != story.state:
        require(actor, MODERATE_PERMISSION, "put back the state of stories")
        return {"state": plan.restore_state}
    return {}


def _record_state(story: Story, plan: Plan, before: str, *, actor, import_run) -> None:
    if plan.action is not None:
        record_transition(
            story,
            plan.action,
            before=before,
            actor=actor,
            import_run=import_run,
            comment=IMPORT_STATE_COMMENT,
        )
    elif story.state != before:
        audit.record(
            story=story,
            action=plan.audit_action,
            actor=actor,
            import_run=import_run,
            field="state",
            before=before,
            after=story.state,
            comment=plan.comment,
        )


def _revision_reason(plan: Plan, import_run: ImportRun | None) -> str:
    if plan.restore_state is None:
        return f"Import #{import_run.pk}" if import_run is not None else "Import"
    return plan.comment + (f" Import #{import_run.pk}." if import_run is not None else "")


@transaction.atomic
def apply_plan(
    story: Story,
    plan: Plan,
    *,
    actor,
    import_run: ImportRun | None,
    writer: SourceWriter,
    baseline: dict | None = None,
) -> None:
    """Apply ``plan`` to ``story`` (read with its rows) on behalf of ``actor``, who imported the file
    (None: the system), audited against ``import_run``.

    One versioned write of the row (``StaleStoryError`` if someone else wrote since ``story`` was
    read), then the rows the plan rewrites; ``PermissionDenied`` or ``WorkflowError`` if the
    workflow refuses, and nothing is written. The change is kept as a revision, linked to the
    run of an import (a restore's names it in its reason); ``baseline``: the story before it
    (``snapshots.snapshot_of``), if the caller has it.
    """
    _record_held(story, plan, actor=actor, import_run=import_run)
    if plan.quiet:
        _apply_quietly(story, plan, writer=writer)
        return
    changes = writer.columns(story, plan.source) | dict(plan.bookkeeping) | _state(story, plan, actor=actor)
    scores = score_changes(story, quality=plan.quality, heat=plan.heat)
    changes.update({name: after for name, (_, after) in scores.items()})
    topics_before = story.topic_names()
    topics = writer.topics(list(dict.fromkeys(plan.topics))) if plan.topics is not None else None
    if scores or topics is not None:
        require(actor, EDIT_PERMISSION, "change stories", from_file=True)
    if plan.touched is not None:
        changes["editor_touched"] = list(plan.touched)
    state_before = story.state
    if baseline is None:
        baseline = snapshot_of(story)
    write_versioned(story, expected=story.version, changes=changes)
    writer.write_parts(story, plan.source, plan.parts)
    if topics is not None:
        write_topics(story, topics)
    forget_prefetched(story)
    _record_state(story, plan, state_before, actor=actor, import_run=import_run)
    edits = [(name, before, after) for name, (before, after) in scores.items()]
    if topics is not None and [t.name for t in topics] != topics_before:
        edits.append(("topics", topics_before, [t.name for t in topics]))
    for name, before, after in edits:
        audit.record(
            story=story,
            action=plan.audit_action,
            actor=actor,
            import_run=import_run,
            field=name,
            before=before,
            after=after,
            comment=plan.comment,
        )
    names = [t.name for t in topics] if topics is not None else topics_before
    record_revision(
        story,
        actor=actor,
        reason=_revision_reason(plan, import_run),
        import_run=import_run if plan.restore_state is None else None,
        data=writer.snapshot(story, plan.source, names),
        baseline=baseline,
    )
