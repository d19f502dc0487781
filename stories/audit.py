"""Writing the audit trail. Entries are append-only; nothing in the UI edits them."""

from __future__ import annotations

from typing import Any

from .models import AuditEntry, ImportRun, Story


def record(
    *,
    story: Story | None,
    action: str,
    actor=None,
    import_run: ImportRun | None = None,
    field: str = "",
    before: Any = None,
    after: Any = None,
    comment: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        story=story,
        story_title=story.title if story is not None else "",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        import_run=import_run,
        action=action,
        field=field,
        before=before,
        after=after,
        comment=comment,
    )
