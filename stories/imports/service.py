"""``import_stories()``: story files in, stories created or updated, every outcome reported.

Each file is atomic (a savepoint); a bad file is reported with its reason and the batch
goes on. Files are written a chunk at a time (``parsing``), one transaction per chunk, so
the database syncs to disk once per chunk, not once per file. Every run that is not a dry
run is recorded as an ``ImportRun`` with one ``ImportRunStory`` per story it touched,
holding what undoing it needs (``undo``). Unchanged files get no row (the run touched
nothing; its ``unchanged`` count says how many there were), which keeps a re-import cheap.

* Dry runs write nothing at all: the whole run happens in a transaction that is rolled
  back, so no ``ImportRun`` is kept and ``ImportReport.run`` is ``None``.
* New stories of a chunk are created together (``writer.create_stories``); on any
  database error, one by one, so that only the bad files fail. A file for a story that
  exists is reconciled with it (``reconcile``: a pure decision) and the resulting plan is
  applied by the workflow in one call (``workflow.apply_plan``), audited under the person
  who imported the file and linked to the run.
* A run stopped by Ctrl-C is recorded as ``interrupted``, one stopped by an unexpected
  error as ``crashed`` (``ImportCrashed``), each with its counts so far.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from stories.images import cache_images_for_stories
from stories.models import ImportRun, ImportRunStory, Story
from stories.records import changes_between, stored_story, stories_with_rows
from stories.snapshots import previous_of
from stories.workflow import WorkflowError, apply_plan, is_person, may_moderate
from stories.workflow.permissions import IMPORT_PERMISSION

from .conflicts import conflict_proposal
from .outcomes import FileResult, ImportOutcome, ImportReport
from .parsing import CHUNK_BYTES, CHUNK_FILES, ParsedFile, parsed_chunks
from .reconcile import Importer, new_story_state, reconcile
from .references import References
from .sources import StorySource
from .story_ids import StoryIds
from .writer import (
    NewStory,
    Rows,
    StoryWriter,
    create_stories,
    refresh_lookup_statistics,
    take_turns_with_other_imports,
)

logger = logging.getLogger(__name__)


def _db_reason(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not isinstance(exc, DatabaseError):
        # e.g. OverflowError from the driver: a value the database cannot hold.
        message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"the database refused the story: {message or type(exc).__name__}"


class _Batch:
    """One run's state: the references it has seen, the stories it wrote, the rows of its run."""

    def __init__(self, *, run, actor, overwrite: bool, collect: bool, on_result, report: ImportReport):
        self.run = run
        self.actor = actor
        self.importer = Importer(may_publish=may_moderate(actor))
        self.overwrite = overwrite
        self.collect = collect
        self.on_result = on_result
        self.report = report
        self.refs = References()
        self.writer = StoryWriter(self.refs)
        self.entries = Rows(ImportRunStory)
        self.written = StoryIds()  # stories this run created or changed
        self._written_at_analyze = 0

    def import_all(self, chunks: Iterable[list[ParsedFile]]) -> None:
        for chunk in chunks:
            self._commit(chunk)
        if len(self.written) > self._written_at_analyze:
            refresh_lookup_statistics()

    def _commit(self, chunk: list[ParsedFile]) -> None:
        # One transaction per chunk, a savepoint per file: a bad file still leaves no
        # partial rows, and the database does not sync to disk once per file.
        try:
            with transaction.atomic():
                take_turns_with_other_imports()
                results = self._chunk(chunk)
                if self.run is not None:
                    self.entries.write()
        except Exception:
            self.refs.forget_all()
            raise
        finally:
            self.entries.rows.clear()
        for result in results:
            self._report(result)
        if len(self.written) >= max(1, 2 * self._written_at_analyze):  # each time the writes double
            self._written_at_analyze = len(self.written)
            refresh_lookup_statistics()

    def _chunk(self, chunk: list[ParsedFile]) -> list[FileResult]:
        results: list[FileResult | None] = [None] * len(chunk)
        pending: list[int] = []
        for index, parsed in enumerate(chunk):
            if parsed.error:
                results[index] = self._failed(parsed, parsed.error)
            elif parsed.unchanged:
                # No ImportRunStory row: the run did not touch the story (its count says how many).
                results[index] = FileResult(
                    path=parsed.path,
                    outcome=ImportOutcome.UNCHANGED,
                    story_id=parsed.known.story_id,
                    title=parsed.known.title,
                )
            else:
                pending.append(index)
        if not pending:
            return results
        keys = {chunk[i].key for i in pending}
        stories = {s.identity_key: s for s in stories_with_rows().filter(identity_key__in=keys)}
        self.refs.warm([chunk[i].record for i in pending])
        # New stories (first file of each new identity) are written together; files for
        # stories that exist, or repeat an identity, follow one by one, in order.
        new, rest, seen = [], [], set()
        for index in pending:
            key = chunk[index].key
            (new if key not in stories and key not in seen else rest).append(index)
            seen.add(key)
        for index, result in zip(new, self._create_many([chunk[i] for i in new]), strict=True):
            results[index] = self._wrote(result)
        for index in rest:
            key = chunk[index].key
            # A later file for a story must see what an earlier one of the batch wrote.
            story = stories.pop(key, None) or stories_with_rows().filter(identity_key=key).first()
            results[index] = self._wrote(self._one(chunk[index], story))
        return results

    def _wrote(self, result: FileResult) -> FileResult:
        if result.story_id is not None and result.outcome.wrote:
            self.written.add(result.story_id)
        return result

    def _report(self, result: FileResult) -> None:
        self.report.add(result)
        if self.on_result is not None:
            self.on_result(result)

    def _entry(
        self, *, story_id: int, path: str, outcome: str, previous=None, conflicts=(), held=(), **proposal
    ) -> None:
        if self.run is not None:
            self.entries.add(
                run=self.run.pk,
                story=story_id,
                path=path,
                outcome=outcome,
                previous=previous,
                conflicts=list(conflicts),
                held=list(held),
                **proposal,
            )

    def _proposal(self, stored, parsed: ParsedFile, plan, story: Story) -> dict:
        """What an open conflict keeps of the file (nothing on a dry run: no run row is kept)."""
        if self.run is None:
            return {}
        return conflict_proposal(stored, parsed.record, plan.conflicts, version=story.version)

    # --- one file

    def _one(self, parsed: ParsedFile, story: Story | None) -> FileResult:
        for attempt in (1, 2):
            self.refs.begin()
            try:
                with transaction.atomic():
                    if story is None:
                        return self._create([parsed])[0]
                    return self._update(parsed, story)
            except IntegrityError as exc:
                self.refs.forget_new()
                if attempt == 2:
                    return self._failed(parsed, _db_reason(exc))
                # most likely the same story was created concurrently: update it instead
                story = stories_with_rows().filter(identity_key=parsed.key).first()
            except (WorkflowError, PermissionDenied) as exc:  # a stale story, or the workflow refused
                self.refs.forget_new()
                return self._failed(parsed, str(exc) or "not allowed")
            except Exception as exc:
                # Whatever refused this story (the database, or the driver adapting a value it
                # cannot hold), its savepoint is rolled back: this file fails, the batch goes on.
                self.refs.forget_new()
                if not isinstance(exc, DatabaseError):
                    logger.warning("Import of %s failed", parsed.path, exc_info=True)
                return self._failed(parsed, _db_reason(exc))
        raise AssertionError("unreachable")  # pragma: no cover

    def _failed(self, parsed: ParsedFile, reason: str) -> FileResult:
        return FileResult(path=parsed.path, outcome=ImportOutcome.FAILED, reason=reason)

    def _create_many(self, files: list[ParsedFile]) -> list[FileResult]:
        """Create new stories in a few bulk queries; on any database error, one by one instead."""
        if len(files) > 1:
            self.refs.begin()
            entries = len(self.entries.rows)
            try:
                with transaction.atomic():
                    return self._create(files)
            except Exception:  # any refusal: one by one, so that only the bad files fail
                self.refs.forget_new()
                del self.entries.rows[entries:]
        return [self._one(parsed, None) for parsed in files]

    def _create(self, files: list[ParsedFile]) -> list[FileResult]:
        new = [
            NewStory(
                path=f.path,
                record=f.record,
                key=f.key,
                source_hash=f.source_hash,
                state=new_story_state(f.record, self.importer),
            )
            for f in files
        ]
        ids = create_stories(
            new,
            refs=self.refs,
            actor_id=self.actor.pk if self.actor is not None else None,
            run_id=self.run.pk if self.run is not None else None,
            now=timezone.now(),
        )
        results = []
        for item in new:
            self._entry(story_id=ids[item.key], path=item.path, outcome=ImportOutcome.CREATED)
            changes = changes_between(None, item.record) if self.collect else {}
            results.append(
                FileResult(
                    path=item.path,
                    outcome=ImportOutcome.CREATED,
                    story_id=ids[item.key],
                    changes=changes,
                    title=item.record.title,
                )
            )
        return results

    def _update(self, parsed: ParsedFile, story: Story) -> FileResult:
        stored = stored_story(story)
        plan = reconcile(
            stored,
            parsed.record,
            self.importer,
            overwrite=self.overwrite,
            source_hash=parsed.source_hash,
            same_run=story.pk in self.written,
            now=timezone.now(),
        )
        previous = None if plan.quiet else previous_of(story, stored)
        apply_plan(story, plan, actor=self.actor, import_run=self.run, writer=self.writer, baseline=previous)
        if plan.conflicts:
            outcome = ImportOutcome.CONFLICT
        else:
            outcome = ImportOutcome.UNCHANGED if plan.quiet else ImportOutcome.UPDATED
        held = [h.key for h in plan.held]
        if outcome != ImportOutcome.UNCHANGED:
            self._entry(
                story_id=story.pk,
                path=parsed.path,
                outcome=outcome,
                previous=previous,
                conflicts=plan.conflicts,
                held=held,
                **self._proposal(stored, parsed, plan, story),
            )
        collect = self.collect and not plan.quiet
        return FileResult(
            path=parsed.path,
            outcome=outcome,
            story_id=story.pk,
            changes=changes_between(stored.current, plan.after) if collect else {},
            conflicts=list(plan.conflicts),
            title=story.title,
            held=held,
        )


class ImportCrashed(RuntimeError):
    """An import stopped on an unexpected error. The run is recorded as crashed, with the counts
    of the chunks it committed before the error and the error itself (``run.error``)."""

    def __init__(self, run: ImportRun, error: BaseException):
        self.run = run
        self.error = error
        super().__init__(
            f"Import #{run.pk} crashed: {run.error}. Files of the chunks committed before the error "
            "are kept; run the same import again to finish (files already imported are unchanged)."
        )


def _finish(run: ImportRun, report: ImportReport, status: str) -> None:
    for name, count in report.counts.items():
        setattr(run, name, count)
    run.failures = report.failure_rows
    run.finished_at = timezone.now()
    run.status = status
    run.save(update_fields=[*report.counts, "failures", "finished_at", "status", "error"])


def import_stories(
    sources: Iterable[StorySource],
    *,
    actor=None,
    via: str = ImportRun.Via.COMMAND,
    source_label: str = "",
    dry_run: bool = False,
    overwrite_editorial: bool = False,
    collect_changes: bool = False,
    on_result: Callable[[FileResult], Any] | None = None,
    keep_results: bool = True,
    jobs: int = 1,
    chunk_files: int = CHUNK_FILES,
    chunk_bytes: int = CHUNK_BYTES,
) -> ImportReport:
    """Import story files; see the module docstring for the rules.

    ``actor`` None is the command line (may publish). A person needs
    ``stories.import_stories``; without ``stories.publish_story`` their new
    stories wait in review. ``jobs``: processes to use (``parsing.parsed_chunks``).
    """
    if actor is not None and not actor.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied("You may not import stories.")
    report = ImportReport(run=None, dry_run=dry_run, keep_results=keep_results)
    person = actor if is_person(actor) else None
    chunks = parsed_chunks(sources, jobs=jobs, chunk_files=chunk_files, chunk_bytes=chunk_bytes)
    options = {"actor": person, "overwrite": overwrite_editorial, "collect": collect_changes}
    try:
        if dry_run:
            with transaction.atomic():
                _Batch(run=None, on_result=on_result, report=report, **options).import_all(chunks)
                transaction.set_rollback(True)
            return report
        report.run = run = ImportRun.objects.create(started_by=person, via=via, source=source_label)
        batch = _Batch(run=run, on_result=on_result, report=report, **options)
        status = ImportRun.Status.FINISHED
        try:
            batch.import_all(chunks)
            # Created or updated stories only; does nothing unless the setting is on, and runs after commit.
            cache_images_for_stories(list(batch.written))
        except KeyboardInterrupt:
            status = ImportRun.Status.INTERRUPTED
            raise
        except Exception as exc:
            # Every chunk committed before this one is kept; the run says so, and why it stopped.
            status = ImportRun.Status.CRASHED
            run.error = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            raise ImportCrashed(run, exc) from exc
        finally:
            _finish(run, report, status)
        return report
    finally:
        chunks.close()
