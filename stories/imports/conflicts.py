"""Import conflicts: a file's values that a story kept, and a moderator's answer to them.

When an import keeps the story's value against the file (a person decided it, or it is held
for a moderator: ``reconcile``), the run's ``ImportRunStory`` keeps the file's proposal
(``conflict_proposal``): the file's record, and per conflicting key the story's value and
the file's, side by side. The conflict is **open** until a moderator (``stories.publish_story``)

* **accepts** it: the file's values for those keys are applied through the workflow (a
  ``Plan`` handed to ``workflow.apply_plan``: version-checked, audited, linked to the run) and
  kept as a revision; the fields a person had decided follow the file again. A story changed
  since the import (its version moved on) is refused with the workflow's stale message;
* or **dismisses** it: the story keeps its values; the decision is audited.

``resolve_run`` answers every open conflict of a run the same way, each on its own: a stale
one is reported and left open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from stories import audit
from stories.models import AuditEntry, ImportRun, ImportRunStory, Story
from stories.records import stored_story, stories_with_rows
from stories.storyfile import StoryRecord, record_from_json, record_to_json
from stories.workflow import Plan, WorkflowError, apply_plan, import_action
from stories.workflow.permissions import MODERATE_PERMISSION, require
from stories.workflow.revisions import record_revision
from stories.workflow.versioned import StaleStoryError, stale_message

from .reconcile import EDITORIAL_PARTS, KEY_FIELDS, kept_and_proposed, take_part
from .references import References
from .writer import EVERY_PART, StoryWriter

OPEN = ImportRunStory.Resolution.OPEN


class ConflictError(WorkflowError):
    """The conflict cannot be answered (it was answered already, or its story is gone)."""


def conflict_proposal(stored, record: StoryRecord, conflicts, *, version: int) -> dict:
    """The ``ImportRunStory`` columns that keep a file's proposal for ``conflicts`` (none: {})."""
    if not conflicts:
        return {}
    values = {key: list(kept_and_proposed(stored, record, key)) for key in dict.fromkeys(conflicts)}
    return {
        "proposed": {"record": record_to_json(record), "values": values},
        "resolution": OPEN,
        "conflict_version": version,
    }


def open_conflicts():
    """Entries whose file's proposal waits for a moderator, oldest first."""
    return ImportRunStory.objects.filter(resolution=OPEN, story__isnull=False).order_by("id")


def proposed_values(entry: ImportRunStory) -> list[tuple[str, object, object]]:
    """(key, the story's value, the file's value) for each conflicting key of ``entry``."""
    values = (entry.proposed or {}).get("values", {})
    return [(key, kept, proposed) for key, (kept, proposed) in values.items()]


def _field(key: str) -> str:
    return KEY_FIELDS.get(key, (key,))[0]


def _locked_open(entry: ImportRunStory, actor) -> tuple[ImportRunStory, Story]:
    require(actor, MODERATE_PERMISSION, "answer import conflicts")
    entry = ImportRunStory.objects.select_for_update().select_related("run").get(pk=entry.pk)
    if entry.resolution != OPEN:
        answered = entry.get_resolution_display().lower() or "never open"
        raise ConflictError(f"This conflict was {answered} already.")
    if entry.story_id is None:
        raise ConflictError("The story of this conflict no longer exists.")
    return entry, stories_with_rows().select_for_update(of=("self",)).get(pk=entry.story_id)


def _resolved(entry: ImportRunStory, resolution: str, actor) -> None:
    entry.resolution = resolution
    entry.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
    entry.resolved_at = timezone.now()
    entry.save(update_fields=["resolution", "resolved_by", "resolved_at"])


def _accept_plan(story: Story, entry: ImportRunStory, comment: str) -> Plan:
    stored = stored_story(story)
    proposal = record_from_json(entry.proposed["record"])
    keys = list(entry.proposed["values"])
    source = stored.base
    for key in keys:
        source = take_part(source, proposal, key)
    released = {name for key in keys for name in KEY_FIELDS.get(key, (key,))}
    touched = tuple(name for name in stored.editor_touched if name not in released)
    scores = {name: getattr(proposal, name) for name in ("quality", "heat") if name in keys}
    return Plan(
        source=source,
        parts=EVERY_PART,
        action=import_action(stored.state, published=bool(proposal.published), may_publish=True)
        if "published" in keys
        else None,
        topics=tuple(proposal.topics or ()) if "topics" in keys else None,
        touched=touched if touched != stored.editor_touched else None,
        comment=comment,
        **scores,
    )


@transaction.atomic
def accept_conflict(entry: ImportRunStory, *, actor) -> Story:
    """Apply the file's proposal of ``entry`` to its story (see the module docstring)."""
    entry, story = _locked_open(entry, actor)
    if story.version != entry.conflict_version:
        raise StaleStoryError(stale_message(story, seen=entry.conflict_version, current=story.version))
    values = proposed_values(entry)
    comment = f"Accepted the file's {', '.join(key for key, _, _ in values)} from import #{entry.run_id}."
    apply_plan(
        story,
        _accept_plan(story, entry, comment),
        actor=actor,
        import_run=entry.run,
        writer=StoryWriter(References()),
    )
    for key, kept, proposed in values:
        if key not in EDITORIAL_PARTS and key != "published":  # the workflow audits those
            audit.record(
                story=story,
                action=AuditEntry.Action.EDIT,
                actor=actor,
                import_run=entry.run,
                field=_field(key),
                before=kept,
                after=proposed,
                comment=comment,
            )
    record_revision(story, actor=actor, reason=comment, import_run=entry.run)
    _resolved(entry, ImportRunStory.Resolution.ACCEPTED, actor)
    return story


@transaction.atomic
def dismiss_conflict(entry: ImportRunStory, *, actor) -> None:
    """Keep the story's values against the file's proposal of ``entry``; audited."""
    entry, story = _locked_open(entry, actor)
    keys = ", ".join(key for key, _, _ in proposed_values(entry))
    audit.record(
        story=story,
        action=AuditEntry.Action.EDIT,
        actor=actor,
        import_run=entry.run,
        comment=f"Dismissed the file's {keys} from import #{entry.run_id}: the story keeps its values.",
    )
    _resolved(entry, ImportRunStory.Resolution.DISMISSED, actor)


@dataclass
class Resolved:
    """What answering a run's open conflicts did."""

    done: int = 0
    refused: list[tuple[ImportRunStory, str]] = field(default_factory=list)


def resolve_run(run: ImportRun, *, actor, accept: bool) -> Resolved:
    """Accept (or dismiss) every open conflict of ``run``, each on its own."""
    require(actor, MODERATE_PERMISSION, "answer import conflicts")
    answer = accept_conflict if accept else dismiss_conflict
    result = Resolved()
    for entry in open_conflicts().filter(run=run).select_related("story"):
        try:
            answer(entry, actor=actor)
        except WorkflowError as exc:
            result.refused.append((entry, str(exc)))
        else:
            result.done += 1
    return result
