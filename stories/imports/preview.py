"""The preview of an upload before it is imported, and its confirmation.

The stored files are imported as a dry run and shown file by file: outcome, the story,
each field's change, what the story keeps against the file. The preview's fingerprint
(``outcome_records``) is kept with the upload; confirming imports the files for real
inside one transaction and rolls everything back (``PreviewMismatch``) if the outcome
would differ from what the user saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from stories.models import ImportRun

from . import uploads
from .outcomes import FileResult, ImportOutcome, ImportReport
from .service import import_stories
from .sources import StorySource, file_opener

OUTCOMES = tuple(outcome.value for outcome in ImportOutcome)
# Outcomes of files an import would write: a preview with none has nothing to confirm.
APPLICABLE = tuple(outcome.value for outcome in ImportOutcome if outcome.wrote)


class PreviewMismatch(Exception):
    """The import about to be applied differs from the preview; the transaction is rolled back."""


def upload_sources(upload: uploads.StoredUpload) -> list[StorySource]:
    """The stored files as importer sources, named as the user knows them ("batch.zip/a.txt")."""
    return [StorySource(path=name, opener=file_opener(str(path))) for name, path in upload.file_paths()]


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def outcome_records(results) -> list[dict[str, Any]]:
    """What the fingerprint covers: per file, its outcome, the story, the changes and the reason.

    A story created by this very import has a different id in the dry run and in
    the real one; it is named by the file that created it instead.
    """
    results = list(results)
    created = {
        r.story_id: r.path for r in results if r.outcome == ImportOutcome.CREATED and r.story_id is not None
    }
    return [
        {
            "path": r.path,
            "outcome": str(r.outcome),
            "story": f"created by {created[r.story_id]}" if r.story_id in created else r.story_id,
            "reason": r.reason or "",
            "changes": _json_safe(r.changes or {}),
            "conflicts": _json_safe(r.conflicts or []),
        }
        for r in results
    ]


def _label(item: Any) -> str:
    if isinstance(item, dict):
        title = item.get("title") or item.get("name") or ""
        url = item.get("webUrl") or item.get("web_url") or item.get("url") or item.get("originalUrl") or ""
        text = " — ".join(str(p) for p in (title, url) if p)
        return text or ", ".join(f"{k}: {v}" for k, v in item.items())
    return "" if item is None else str(item)


def describe_change(field: str, before: Any, after: Any) -> dict[str, Any]:
    """A readable form of one field's change: lists as added/removed items, values as before → after."""
    if isinstance(before, list | tuple) or isinstance(after, list | tuple):
        old = [_label(x) for x in before or []]
        new = [_label(x) for x in after or []]
        added = [x for x in new if x not in old]
        removed = [x for x in old if x not in new]
        return {
            "field": field,
            "kind": "list",
            "added": added,
            "removed": removed,
            "reordered": not added and not removed and old != new,
            "before_count": len(old),
            "after_count": len(new),
        }
    return {"field": field, "kind": "value", "before": _label(before), "after": _label(after)}


def preview_row(result: FileResult, *, created: set[int | None]) -> dict[str, Any]:
    return {
        "path": result.path,
        "outcome": str(result.outcome),
        # Stories created by the dry run itself do not exist: no link to them.
        "story_id": None if result.story_id in created else result.story_id,
        "reason": result.reason or "",
        "title": result.title,
        "conflicts": list(result.conflicts or []),
        # What the story keeps against the file: a person's decisions, and what only a moderator
        # may change because the story is published (``FileResult.held``).
        "kept": result.kept,
        "held": list(result.held or []),
        # A new story's "diff" would be the whole file: the preview names it instead.
        "changes": []
        if result.outcome == ImportOutcome.CREATED
        else [describe_change(f, b, a) for f, (b, a) in (result.changes or {}).items()],
    }


@dataclass
class Preview:
    rows: list[dict[str, Any]]
    counts: dict[str, int]
    held_count: int
    applicable: bool


def _import(upload: uploads.StoredUpload, *, actor, dry_run: bool) -> ImportReport:
    return import_stories(
        upload_sources(upload),
        actor=actor,
        via=ImportRun.Via.ADMIN,
        source_label=upload.label,
        dry_run=dry_run,
        collect_changes=True,
    )


def preview_upload(upload: uploads.StoredUpload, *, actor) -> Preview:
    """Import the upload as a dry run, keep its fingerprint with it, and describe each file."""
    report = _import(upload, actor=actor, dry_run=True)
    upload.fingerprint = uploads.fingerprint(outcome_records(report.results))
    upload.save_meta()
    created = {r.story_id for r in report.results if r.outcome == ImportOutcome.CREATED}
    rows = [preview_row(result, created=created) for result in report.results]
    counts = dict.fromkeys(OUTCOMES, 0)
    for row in rows:
        counts[row["outcome"]] += 1
    return Preview(
        rows=rows,
        counts=counts,
        held_count=sum(1 for row in rows if row["held"]),
        applicable=any(row["outcome"] in APPLICABLE for row in rows),
    )


@transaction.atomic
def apply_upload(upload: uploads.StoredUpload, *, actor) -> ImportReport:
    """Import the stored files for real, or roll back and raise PreviewMismatch if the outcome changed."""
    report = _import(upload, actor=actor, dry_run=False)
    if uploads.fingerprint(outcome_records(report.results)) != upload.fingerprint:
        raise PreviewMismatch
    return report
