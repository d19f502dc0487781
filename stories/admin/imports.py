"""What the admin upload shows and checks: the preview's rows and diffs, and the fingerprint that
confirms the real import is the one previewed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from .. import uploads
from ..models import ImportRun

OUTCOMES = ("created", "updated", "unchanged", "conflict", "failed")


class PreviewMismatch(Exception):
    """The import about to be applied differs from the preview; the transaction is rolled back."""


def _reader(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        # One byte past the limit lets the parser refuse an oversized file with its own message.
        with path.open("rb") as handle:
            return handle.read(settings.NEWSROOM_MAX_STORY_FILE_BYTES + 1)

    return read


def upload_sources(upload: uploads.StoredUpload) -> list:
    """The stored files as importer sources, named as the user knows them ("batch.zip/a.txt")."""
    from ..importing import StorySource

    return [StorySource(path=name, opener=_reader(path)) for name, path in upload.file_paths()]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def outcome_records(results) -> list[dict[str, Any]]:
    """What the fingerprint covers: per file, its outcome, the story, the changes and the reason.

    A story created by this very import has a different id in the dry run and in
    the real one; it is named by the file that created it instead.
    """
    results = list(results)
    created = {r.story_id: r.path for r in results if r.outcome == "created" and r.story_id is not None}
    return [
        {
            "path": r.path,
            "outcome": r.outcome,
            "story": f"created by {created[r.story_id]}" if r.story_id in created else r.story_id,
            "reason": r.reason or "",
            "changes": _plain(r.changes or {}),
            "conflicts": _plain(r.conflicts or []),
        }
        for r in results
    ]


@transaction.atomic
def apply_upload(upload: uploads.StoredUpload, *, actor):
    """Import the stored files for real, or roll back and raise PreviewMismatch if the outcome changed."""
    from ..importing import import_stories

    report = import_stories(
        upload_sources(upload),
        actor=actor,
        via=ImportRun.Via.ADMIN,
        source_label=upload.label,
        collect_changes=True,
    )
    if uploads.fingerprint(outcome_records(report.results)) != upload.fingerprint:
        raise PreviewMismatch
    return report


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


def preview_row(result, *, created: set[int | None]) -> dict[str, Any]:
    return {
        "path": result.path,
        "outcome": result.outcome,
        # Stories created by the dry run itself do not exist: no link to them.
        "story_id": None if result.story_id in created else result.story_id,
        "reason": result.reason or "",
        "title": getattr(result, "title", ""),
        "conflicts": list(result.conflicts or []),
        # What the story keeps against the file: a person's decisions, and what only a moderator
        # may change because the story is published (``FileResult.held``).
        "kept": [name for name in result.conflicts or [] if name not in (result.held or [])],
        "held": list(result.held or []),
        # A new story's "diff" would be the whole file: the preview names it instead.
        "changes": []
        if result.outcome == "created"
        else [describe_change(f, b, a) for f, (b, a) in (result.changes or {}).items()],
    }
