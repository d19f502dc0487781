"""What undoing an import run would do, story by story, decided before anything is written.

``plan_revert(run)`` reads the run, its stories, their revisions and audit trail, and writes
nothing: the admin shows it as a preview, ``revert_import --dry-run`` prints it, and
``undo.revert_import_run`` carries it out. For each story the run touched:

* a story the run **created** is deleted, unless someone worked on it since: a person
  changed it (an audit entry or a revision by a person after the run started: an edit of
  its content, topics, related links or images, a new lead image, a workflow move; or
  fields marked ``editor_touched``), or a later import run updated it;
* a story the run **updated** gets back the revision before the run (the ``based_on`` of
  the run's revision of it; for runs from before revisions, ``ImportRunStory.previous``),
  unless a later, unreverted import updated it again, or a person corrected its source
  fields, related links or images since (a newer revision by a person, or their audit
  entries for runs from before revisions): then it is kept as it is, and the reason given.
  Editorial values (published/state, quality, heat, topics) a person set since stand; only
  the rest goes back.

Files of a story file import are the files' values even when a person ran the import; a
spreadsheet's are a person's decisions. Undoing another run is not a person's change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from stories.models import AuditEntry, ImportRun, ImportRunStory, Revision, Story
from stories.records import changes_between
from stories.storyfile import record_from_json
from stories.workflow import CONTENT_FIELDS, EDITORIAL_FIELDS

from .outcomes import ImportOutcome

UNDO_ACTION = AuditEntry.Action.IMPORT_UNDO
# A run still marked running after this long was left behind by a killed process (a
# finished, failed or interrupted import always records its end): it may be reverted.
STALE_RUN_AFTER = dt.timedelta(hours=1)

DELETE, RESTORE, KEEP = "delete", "restore", "keep"
# Audit fields that are editorial decisions; "state" is the published flag's workflow side.
_EDITORIAL_AUDIT_FIELDS = {"state": "published", "quality": "quality", "heat": "heat", "topics": "topics"}
# Audit fields of the story's source that restoring the previous record would overwrite.
_SOURCE_AUDIT_FIELDS = CONTENT_FIELDS | {"related", "images"}
_WRITING_OUTCOMES = [outcome for outcome in ImportOutcome if outcome.wrote]


class RevertError(ValidationError):
    """The run cannot be reverted; the message says why. Nothing was written."""

    def __str__(self) -> str:
        return " ".join(self.messages)


@dataclass(frozen=True)
class RevertStep:
    """What undoing the run does to one story."""

    action: str  # DELETE, RESTORE or KEEP
    story_id: int
    title: str
    reason: str = ""  # why a story is kept; for a restore, what of a person's work stands
    snapshot: dict | None = None  # a restore's data (``snapshots.snapshot_of``) to put back
    kept_editorial: tuple[str, ...] = ()  # a restore: editorial values a person set since


@dataclass
class RevertPlan:
    run: ImportRun
    steps: list[RevertStep] = field(default_factory=list)
    gone: int = 0  # entries whose story no longer exists

    def of(self, action: str) -> list[RevertStep]:
        return [step for step in self.steps if step.action == action]

    def summary(self) -> str:
        counts = f"delete {len(self.of(DELETE))}, restore {len(self.of(RESTORE))}, keep {len(self.of(KEEP))}"
        return counts + (f", already gone {self.gone}" if self.gone else "")

    def fingerprint(self) -> str:
        """Changes when the plan does: a preview confirmed after it changed is refused."""
        text = repr([(s.action, s.story_id, s.reason) for s in self.steps] + [self.gone])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def check_revertable(run: ImportRun) -> None:
    """Raise ``RevertError`` when ``run`` cannot be reverted (reverted, a spreadsheet, running)."""
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


def plan_revert(run: ImportRun) -> RevertPlan:
    """What reverting ``run`` would do (see the module docstring); writes nothing.

    Raises ``RevertError`` when the run cannot be reverted."""
    check_revertable(run)
    plan = RevertPlan(run=run)
    entries = ImportRunStory.objects.filter(run=run, outcome__in=_WRITING_OUTCOMES).order_by("id")
    by_story: dict[int, list[ImportRunStory]] = {}
    for entry in entries.iterator(chunk_size=500):
        if entry.story_id is None:
            plan.gone += 1
        else:
            by_story.setdefault(entry.story_id, []).append(entry)
    stories = Story.objects.in_bulk(list(by_story))
    for story_id in sorted(by_story, key=lambda pk: by_story[pk][-1].id, reverse=True):
        story, story_entries = stories.get(story_id), by_story[story_id]
        if story is None:
            plan.gone += len(story_entries)
        elif any(e.outcome == ImportOutcome.CREATED for e in story_entries):
            plan.steps.append(_created_step(run, story, story_entries[-1]))
        elif story_entries[0].previous or _run_revision(run, story):
            plan.steps.append(_updated_step(run, story, story_entries))
    return plan


def _person_entries_since(story: Story, run: ImportRun):
    """Audit entries of changes a person made to ``story`` since ``run`` started."""
    return (
        AuditEntry.objects.filter(story=story, actor__isnull=False, created_at__gte=run.started_at)
        .filter(Q(import_run__isnull=True) | Q(import_run__via=ImportRun.Via.SPREADSHEET))
        .exclude(action=UNDO_ACTION)
    )


def _person_revisions(story: Story, *, after_id: int = 0):
    """Revisions of ``story`` a person made (not an import's files, not an undo) after ``after_id``."""
    return (
        Revision.objects.filter(story=story, author__isnull=False, id__gt=after_id)
        .filter(Q(import_run__isnull=True) | Q(import_run__via=ImportRun.Via.SPREADSHEET))
        .select_related("author", "based_on")
        .order_by("id")
    )


def _run_revision(run: ImportRun, story: Story) -> Revision | None:
    """The revision the run's files made of ``story`` (the first, written while the run ran)."""
    revisions = Revision.objects.filter(story=story, import_run=run, is_draft=False)
    if run.finished_at is not None:
        revisions = revisions.filter(created_at__lte=run.finished_at)
    return revisions.select_related("based_on").order_by("id").first()


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


def _keep(story: Story, reason: str) -> RevertStep:
    return RevertStep(action=KEEP, story_id=story.pk, title=story.title, reason=reason)


def _created_step(run: ImportRun, story: Story, entry: ImportRunStory) -> RevertStep:
    person = _person_entries_since(story, run).select_related("actor").first()
    if person is not None:
        return _keep(story, f"{person.actor} changed it ({person.action} {person.field})".strip())
    revision = _person_revisions(story).first()
    if revision is not None:
        return _keep(story, f"{revision.by} made revision #{revision.pk} of it")
    touched = [f for f in (story.editor_touched or []) if f in EDITORIAL_FIELDS]
    if touched:
        return _keep(story, f"an editor changed {', '.join(touched)}")
    later = _later_import(story, entry)
    if later is not None:
        return _keep(story, f"import #{later.run_id} updated it since")
    return RevertStep(action=DELETE, story_id=story.pk, title=story.title)


@dataclass
class _Since:
    """What people changed of a story since the run: source fields, editorial values, and who."""

    before: dict  # the story's snapshot from before the run
    corrected: list[str] = field(default_factory=list)
    editorial: set[str] = field(default_factory=set)
    who: str = "a person"


def _record_changes(old: dict, new: dict) -> list[str]:
    """The file keys whose value differs between two snapshots' records."""
    return list(changes_between(record_from_json(old["record"]), record_from_json(new["record"])))


_EDITORIAL_SNAPSHOT_KEYS = {"published": "state", "quality": "quality", "heat": "heat", "topics": "topics"}


def _since_by_revisions(story: Story, revision: Revision) -> _Since:
    since = _Since(before=revision.based_on.data)
    for person in _person_revisions(story, after_id=revision.pk):
        old = person.based_on.data if person.based_on is not None else {}
        changed = _record_changes(old, person.data) if old else []
        source = [key for key in changed if key not in ("quality", "heat", "topics", "published")]
        if not old or source:
            since.corrected += source or ["everything"]
            since.who = f"{person.by} (revision #{person.pk})"
        since.editorial |= {
            name
            for name, key in _EDITORIAL_SNAPSHOT_KEYS.items()
            if old and old.get(key) != person.data.get(key)
        }
    return since


def _since_by_audit(story: Story, run: ImportRun, entry: ImportRunStory) -> _Since:
    since = _Since(before=entry.previous)
    names = list(_person_entries_since(story, run).values_list("field", flat=True))
    since.corrected = sorted({name for name in names if name in _SOURCE_AUDIT_FIELDS})
    since.editorial = {_EDITORIAL_AUDIT_FIELDS[name] for name in names if name in _EDITORIAL_AUDIT_FIELDS}
    return since


def _updated_step(run: ImportRun, story: Story, entries: list[ImportRunStory]) -> RevertStep:
    later = _later_import(story, entries[-1])
    if later is not None:
        return _keep(story, f"import #{later.run_id} updated it again since; revert that run first")
    revision = _run_revision(run, story)
    if revision is not None and revision.based_on is not None:
        since = _since_by_revisions(story, revision)
    else:
        since = _since_by_audit(story, run, entries[0])
    if since.corrected:
        return _keep(story, f"{since.who} corrected {', '.join(sorted(set(since.corrected)))} since")
    snapshot = _with_editorial_since(story, dict(since.before), since.editorial)
    return RevertStep(
        action=RESTORE,
        story_id=story.pk,
        title=story.title,
        reason=f"kept the editor's {', '.join(sorted(since.editorial))}" if since.editorial else "",
        snapshot=snapshot,
        kept_editorial=tuple(sorted(since.editorial)),
    )


def _with_editorial_since(story: Story, snapshot: dict, editorial: set[str]) -> dict:
    """``snapshot`` with the editorial values a person set since the run as the story has them."""
    if not editorial:
        return snapshot
    if "published" in editorial:
        snapshot["state"] = story.state
    for name in ("quality", "heat"):
        if name in editorial:
            snapshot[name] = getattr(story, name)
    if "topics" in editorial:
        snapshot["topics"] = story.topic_names()
    touched = list(snapshot.get("editor_touched") or [])
    snapshot["editor_touched"] = touched + [f for f in (story.editor_touched or []) if f not in touched]
    return snapshot
