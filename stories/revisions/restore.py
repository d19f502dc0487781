"""Restoring an older revision of a story: its data becomes the story again, as a new revision.

Nothing is rewritten: the revision restored stays where it is in the history, and the story's
new state is kept as the newest revision ("Revision #N restored"). The write is the workflow's
(``imports.undo.restore_story``: permissions, one versioned write, audit), and the moderation
promise holds: on a published story, what readers see changes only by a moderator's hand, so
anyone else's restore of it is kept as a draft for a moderator (``workflow.drafts.propose``).
"""

from __future__ import annotations

from django.db import transaction

from stories import audit
from stories.imports.undo import restore_story
from stories.models import AuditEntry, Revision, Story
from stories.records import stories_with_rows
from stories.snapshots import snapshot_of
from stories.workflow import ModeratorOnlyError, WorkflowError
from stories.workflow.drafts import propose
from stories.workflow.permissions import EDIT_PERMISSION, refuse_unless_moderator, require
from stories.workflow.revisions import latest_revision, record_revision
from stories.workflow.versioned import check_version

from .compare import Comparison, compare


def restored_comment(revision: Revision) -> str:
    return f"Revision #{revision.pk} restored"


@transaction.atomic
def restore_revision(
    revision: Revision, *, actor, expected_version: int | None = None
) -> tuple[Revision | None, Comparison]:
    """Make ``revision``'s story what ``revision`` holds, on behalf of ``actor``.

    Returns the story's newest revision afterwards and what changed (nothing changed: the
    story already is the revision, and nothing is written). On a published story, a restore of
    what readers see by someone who is not a moderator becomes a draft (the revision returned is
    that draft). Raises ``PermissionDenied``, ``StaleStoryError`` when
    the story is no longer at ``expected_version`` (the version the person saw), or
    ``WorkflowError``.
    """
    require(actor, EDIT_PERMISSION, "restore revisions of stories")
    story = Story.objects.select_for_update().get(pk=revision.story_id)
    check_version(story, expected_version)
    current = snapshot_of(stories_with_rows().get(pk=story.pk))
    changes = compare(current, revision.data)
    if not changes.changed:
        return latest_revision(story), changes
    comment = restored_comment(revision)
    try:
        refuse_unless_moderator(story, actor, changes.workflow_fields)
    except ModeratorOnlyError:
        edit = propose(
            story,
            actor=actor,
            reason=comment,
            change=lambda current: _restore(current, revision, actor=actor, comment=comment, changes=changes),
        )
        return edit.draft or latest_revision(story), changes
    _restore(story, revision, actor=actor, comment=comment, changes=changes)
    # The workflow records a revision for each of its writes; one more call is a no-op then.
    record_revision(story, actor=actor, reason=comment)
    return latest_revision(story), changes


def _restore(story: Story, revision: Revision, *, actor, comment: str, changes: Comparison) -> list[str]:
    """Put ``revision``'s data on ``story``'s rows (audited); the labels of what changed."""
    try:
        restore_story(
            story=story,
            previous=revision.data,
            actor=actor,
            comment=comment,
            audit_action=AuditEntry.Action.EDIT,
        )
    except KeyError as error:  # a revision written in another format
        raise WorkflowError(f"Revision #{revision.pk} cannot be restored: it has no {error}.") from error
    audit.record(story=story, action=AuditEntry.Action.EDIT, actor=actor, field="revision", comment=comment)
    return [change.label for change in changes.fields] or ["related links or images"]
