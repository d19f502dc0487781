"""Services on whole import runs: undoing a run, and parsing a batch in parallel.

``revert_import_run()`` undoes what one import run wrote:

* a story the run **created** is deleted, unless someone has worked on it since:
  a person changed it (an audit entry by a person after the run started: an edit
  of its content, topics, related links or images, a new lead image, a workflow
  move; or fields marked ``editor_touched``), or a later import run updated it.
  Those stories are kept and listed with the reason;
* a story the run **updated** gets its previous source record back
  (``ImportRunStory.previous``, through ``importing.restore_story``). Editorial
  values (published/state, quality, heat, topics) a person set since the run are
  kept. A story whose source fields, related links or images a person corrected
  since, or that a later, unreverted import updated again, is kept as it is and
  listed: restoring it would silently throw that work away;
* everything is recorded in the audit trail, and the run is marked reverted
  (``status``, ``reverted_at``, ``reverted_by``). A run is reverted once.

Decisions where the brief is silent: providers and topics the run created stay
(other stories may use them); reverting needs ``stories.publish_story`` (the
moderators' permission); the undo is all or nothing (one transaction), so a
failure half-way leaves the run as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import audit
from .importing import CHUNK_BYTES, CHUNK_FILES, StorySource, restore_story
from .imports.outcomes import ImportOutcome
from .models import AuditEntry, ImportRun, ImportRunStory, Story
from .storyfile import FileLimits, StoryFileError, StoryRecord, identity_key_for, parse_story
from .workflow import CONTENT_FIELDS, EDITORIAL_FIELDS

REVERT_PERMISSION = "stories.publish_story"
UNDO_ACTION = "import_undo"

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
    return bool(
        actor is not None and getattr(actor, "is_authenticated", False) and actor.has_perm(REVERT_PERMISSION)
    )


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
        action="import_reverted",
        actor=actor,
        import_run=run,
        comment=f"Import #{run.pk} reverted: {report.summary()}.",
    )
    return report


_WRITING_OUTCOMES = (
    ImportOutcome.CREATED,
    ImportOutcome.UPDATED,
    ImportOutcome.CONFLICT,
)


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
            previous["topics"] = [st.topic.name for st in story.story_topics.select_related("topic")]
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


# --------------------------------------------------------------------------- parallel parsing

# How far the reader runs ahead of the writer: enough that the workers parse the next
# chunk while the importer writes the current one, bounded so memory stays flat.
AHEAD_FILES = 2 * CHUNK_FILES
AHEAD_BYTES = 2 * CHUNK_BYTES


# Files per task sent to a worker: fewer, larger messages cost the writing process less.
FILES_PER_TASK = 16


def _parse_in_worker(files: list[tuple[str, bytes]], limits: FileLimits) -> list[tuple[Any, ...]]:
    """Runs in a worker process: parse some files. Errors travel back as plain values."""
    outcomes: list[tuple[Any, ...]] = []
    for path, data in files:
        try:
            record = parse_story(data, path=path, limits=limits)
            outcomes.append(("ok", record, identity_key_for(record)))
        except StoryFileError as exc:
            outcomes.append(("error", exc.message, exc.field, exc.line))
    return outcomes


def _ignore_interrupts() -> None:
    # Ctrl-C is the main process's to handle: it stops feeding work and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass(frozen=True)
class ParsedSource(StorySource):
    """A source whose bytes were read ahead and whose parse may be running in a worker."""

    pending: Future | None = field(default=None, repr=False, compare=False)
    slot: int = 0  # this file's place in its task
    sha256: str = ""  # computed while reading ahead

    def digest(self, data: bytes) -> str:
        return self.sha256 or super().digest(data)

    def parse(self, data: bytes) -> tuple[StoryRecord, str]:
        if self.pending is None:  # recognised as unchanged by its hash: the importer will not ask
            return super().parse(data)
        outcome = self.pending.result()[self.slot]
        if outcome[0] == "ok":
            return outcome[1], outcome[2]
        _, message, field_name, line = outcome
        raise StoryFileError(message, path=self.path, field=field_name, line=line)


def _read_once(data: bytes | None, error: OSError | None) -> Callable[[], bytes]:
    held = [data]

    def read() -> bytes:
        if error is not None:
            raise error
        value, held[0] = held[0], None  # the importer keeps its own reference while it needs one
        if value is None:
            raise OSError("source already read")
        return value

    return read


def parallel_sources(sources: Iterable[StorySource], *, jobs: int) -> Iterator[StorySource]:
    """``sources`` in the same order, read ahead and parsed by ``jobs - 1`` worker processes.

    ``jobs`` counts every process: this one writes while the workers parse, so
    ``jobs=2`` keeps two cores busy (measured: faster than two workers beside the
    writer on a two-core machine). ``jobs <= 1`` parses in this process.

    Files whose bytes match a story's ``source_hash`` are not sent to a worker (the
    importer recognises them without parsing). At most ``AHEAD_FILES`` files or
    ``AHEAD_BYTES`` bytes are in flight.
    """
    if jobs <= 1:
        yield from sources
        return
    context = (
        multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    )
    limits = FileLimits.from_settings()
    window: deque[tuple[ParsedSource, int]] = deque()
    in_flight = 0
    batch: list[tuple[StorySource, bytes | None, OSError | None]] = []
    pool = ProcessPoolExecutor(max_workers=jobs - 1, mp_context=context, initializer=_ignore_interrupts)

    def submit(batch: list[tuple[StorySource, bytes | None, OSError | None]]) -> None:
        nonlocal in_flight
        hashes = [hashlib.sha256(data).hexdigest() if data is not None else None for _, data, _ in batch]
        known = set(
            Story.objects.filter(source_hash__in=set(hashes) - {None}).values_list("source_hash", flat=True)
        )
        task: list[tuple[str, bytes]] = []
        waiting: list[int] = []  # window positions of the task's files
        for (source, data, error), source_hash in zip(batch, hashes, strict=True):
            if data is not None and source_hash not in known:
                waiting.append(len(window))
                task.append((source.path, data))
            parsed = ParsedSource(path=source.path, opener=_read_once(data, error), sha256=source_hash or "")
            window.append((parsed, len(data or b"")))
            in_flight += len(data or b"")
            if len(task) >= FILES_PER_TASK:
                send(task, waiting)
                task, waiting = [], []
        if task:
            send(task, waiting)

    def send(task: list[tuple[str, bytes]], waiting: list[int]) -> None:
        future = pool.submit(_parse_in_worker, task, limits)
        for slot, position in enumerate(waiting):
            source, size = window[position]
            window[position] = (replace(source, pending=future, slot=slot), size)

    try:
        for source in sources:
            try:
                data, error = source.read(), None
            except OSError as exc:
                data, error = None, exc
            batch.append((source, data, error))
            if len(batch) >= CHUNK_FILES:
                submit(batch)
                batch = []
            while len(window) > AHEAD_FILES or in_flight > AHEAD_BYTES:
                ready, size = window.popleft()
                in_flight -= size
                yield ready
        submit(batch)
        while window:
            ready, size = window.popleft()
            in_flight -= size
            yield ready
    except BaseException:  # closed early (an error, Ctrl-C): drop the work nobody will ask for
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    # Every source is handed out, but the importer asks for the last parses only now.
    pool.shutdown(wait=False)
