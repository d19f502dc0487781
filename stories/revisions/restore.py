"""Restoring an older revision of a story: its data becomes the story again, as a new revision.

Nothing is rewritten: the revision restored stays where it is in the history, and the story's
new state is kept as the newest revision ("Revision #N restored"). The write is the workflow's
(``imports.undo.restore_story``: permissions, one versioned write, audit), and the moderation
promise holds: on a published story, only a moderator may restore what readers see.
"""

from __future__ import annotations

from django.db import transaction

from stories import audit
from stories.imports.undo import restore_story
from stories.models import AuditEntry, Revision, Story
from stories.records import snapshot_of, stories_with_rows
from stories.workflow import WorkflowError
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
    story already is the revision, and nothing is written). Raises ``PermissionDenied``
    (``ModeratorOnlyError`` for what readers see of a published story), ``StaleStoryError`` when
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
    refuse_unless_moderator(story, actor, changes.workflow_fields)
    comment = restored_comment(revision)
    try:
        story = restore_story(
            story=story,
            previous=revision.data,
            actor=actor,
            comment=comment,
            audit_action=AuditEntry.Action.EDIT,
        )
    except KeyError as error:  # a revision written in another format
        raise WorkflowError(f"Revision #{revision.pk} cannot be restored: it has no {error}.") from error
    audit.record(story=story, action=AuditEntry.Action.EDIT, actor=actor, field="revision", comment=comment)
    # The workflow records a revision for each of its writes; one more call is a no-op then.
    record_revision(story, actor=actor, reason=comment)
    return latest_revision(story), changes
