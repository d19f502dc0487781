"""A change to a live story waits as a draft: how it is made, published and discarded.

On a published story, what readers see changes only by a moderator's hand
(``permissions.held_for_moderator``). Anyone else's change is not refused: ``propose``
applies it with the normal write code (``update_editorial``) inside a savepoint, keeps the
story as it would then be (``snapshots.snapshot_of``), rolls the savepoint back and records
the snapshot as a draft revision (``Story.draft_revision``). The rows, which are what
readers see, stay as they were; the story's version moves, so a page opened before is stale.

- A change over a pending draft starts from the draft (its values are put on the rows
  inside the savepoint first): the new draft is the pending one with this change on top.
- A story without a revision first gets one of itself as it is (``BASELINE_REASON``), so
  the live story and the draft can be compared.
- A moderator publishes a draft (``publish_draft``: the draft's data is put on the rows
  through ``restore_story``, then recorded as the live revision) or discards it
  (``discard_draft``: the draft stays in the history). A draft whose live story changed
  since it was written is *stale*: publishing it would undo that change, so it is published
  only when the moderator confirms (``StaleDraftError`` otherwise).

This module is imported by its users (``stories.workflow.drafts``), not by the workflow
package, because it puts rows back with ``stories.imports.undo.restore_story``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F

from stories import audit
from stories.imports.undo import restore_story
from stories.models import AuditEntry, Revision, State, Story
from stories.records import stories_with_rows
from stories.snapshots import snapshot_of

from .editorial import update_editorial
from .errors import ModeratorOnlyError, WorkflowError
from .permissions import EDIT_PERMISSION, MODERATE_PERMISSION, proposing, require
from .revisions import BASELINE_REASON, live_revision, pending_draft, record_revision
from .versioned import check_version, stale_error

DRAFT_SAVED = "Saved as a draft: a moderator will review it before readers see it."
DRAFT_FIELD = "draft"  # an audit entry about a story's draft


class StaleDraftError(WorkflowError):
    """The live story changed since the draft was written; publishing needs the moderator's word."""


@dataclass
class Edit:
    """What a person's change did: the fields it changed, and the draft it became (None: live)."""

    changed: list[str] = field(default_factory=list)
    draft: Revision | None = None

    def message(self, title: str) -> str:
        if self.draft is not None:
            return f"“{title}”: {DRAFT_SAVED}"
        return (
            f"“{title}”: {', '.join(self.changed)} saved."
            if self.changed
            else f"“{title}”: nothing to change."
        )


class _RollBack(Exception):
    """Leaves the savepoint a draft was written in."""


def keep_baseline(story: Story) -> Revision | None:
    """A revision of ``story`` as it is, if it has none yet (a story from before revisions)."""
    if Revision.objects.filter(story=story).exists():
        return None
    return record_revision(story, actor=None, reason=BASELINE_REASON)


def _put_draft_on_rows(story: Story, draft: Revision) -> None:
    """Inside a draft's savepoint: the rows as ``draft`` has them, at the version the caller saw."""
    restore_story(story=story, previous=draft.data, actor=None, comment=f"Draft #{draft.pk}")
    Story.objects.filter(pk=story.pk).update(version=story.version)


def _draft_snapshot(story: Story, change: Callable[[Story], Sequence[str]]) -> tuple[list[str], dict | None]:
    """``change`` applied over the story's pending draft (or its rows), kept as a snapshot and
    rolled back: the fields it changed, and the story as it would be."""
    pending = pending_draft(story)
    result: tuple[list[str], dict | None] = ([], None)
    try:
        with transaction.atomic(), proposing(story):
            if pending is not None:
                _put_draft_on_rows(story, pending)
            changed = list(change(Story.objects.with_cards().get(pk=story.pk)))
            if changed:
                result = (changed, snapshot_of(stories_with_rows().get(pk=story.pk)))
            raise _RollBack
    except _RollBack:
        pass
    return result


@transaction.atomic
def propose(
    story: Story,
    *,
    actor,
    change: Callable[[Story], Sequence[str]],
    reason: str = "",
    expected_version: int | None = None,
) -> Edit:
    """Keep ``change`` to the published ``story`` as a draft revision; the rows stay as they are.

    ``change(story)`` is the normal write (it returns the names of the fields it changed) and is
    given the story as its pending draft has it, read inside the savepoint. Nothing changed:
    no draft.
    """
    require(actor, EDIT_PERMISSION, "change stories")
    check_version(story, expected_version)
    stored = Story.objects.select_for_update().filter(pk=story.pk).values_list("version", flat=True).get()
    if stored != story.version:
        raise stale_error(story, story.version)
    if story.state != State.PUBLISHED:
        raise WorkflowError(
            f"“{story.title}” is not published: a change to it is saved, not kept as a draft."
        )
    changed, data = _draft_snapshot(story, change)
    if data is None:
        return Edit()
    keep_baseline(story)
    before = Story.objects.filter(pk=story.pk).values_list("draft_revision", flat=True).get()
    draft = record_revision(story, actor=actor, reason=reason, data=data, draft=True)
    if draft is None:  # the same as the pending draft
        return Edit()
    story.refresh_from_db(fields=["version", "draft_revision"])
    audit.record(
        story=story,
        action=AuditEntry.Action.EDIT,
        actor=actor,
        field=DRAFT_FIELD,
        before=before,
        after=draft.pk,
        comment=f"{DRAFT_SAVED} Changed: {', '.join(changed)}." + (f" {reason}" if reason else ""),
    )
    return Edit(changed, draft)


def edit(story: Story, *, actor, onto_draft: bool = False, **changes) -> Edit:
    """A person's editorial change (``update_editorial``'s arguments), through the moderation rule.

    Applied to the rows when the person may change them; a change to what readers see of a
    published story by someone who is not a moderator becomes a draft instead (``propose``).
    ``onto_draft``: the change is to the story's pending draft (the admin change form shows it),
    whoever makes it.
    """
    comment = changes.get("comment", "")
    expected = changes.pop("expected_version", None)
    if not (onto_draft and story.state == State.PUBLISHED and story.draft_revision_id):
        try:
            return Edit(update_editorial(story, actor=actor, expected_version=expected, **changes))
        except ModeratorOnlyError:
            pass  # nothing was written: it becomes a draft
    return propose(
        story,
        actor=actor,
        reason=comment,
        expected_version=expected,
        change=lambda current: update_editorial(current, actor=actor, **changes),
    )


def draft_base(draft: Revision) -> Revision | None:
    """The live revision ``draft`` was written over (following earlier drafts it built on)."""
    base = draft.based_on
    while base is not None and base.is_draft:
        base = base.based_on
    return base


def is_stale(story: Story, draft: Revision) -> bool:
    """Whether the live story changed since ``draft`` was written over it."""
    base = draft_base(draft)
    return base is None or base.data != snapshot_of(stories_with_rows().get(pk=story.pk))


def stale_draft_message(story: Story, draft: Revision) -> str:
    return (
        f"“{story.title}” changed since draft #{draft.pk} was written: publishing the draft puts its "
        "version of every field back, undoing that later change. Nothing was published; confirm to "
        "publish it anyway, or discard it."
    )


def _pending_for_moderator(story: Story, *, actor, expected_version: int | None, what: str) -> Revision:
    require(actor, MODERATE_PERMISSION, what)
    current = Story.objects.select_for_update().get(pk=story.pk)
    if expected_version is not None and int(expected_version) != current.version:
        raise stale_error(story, int(expected_version))
    draft = pending_draft(current)
    if draft is None:
        raise WorkflowError(f"“{story.title}” has no draft waiting for a moderator.")
    return draft


@transaction.atomic
def publish_draft(
    story: Story, *, actor, expected_version: int | None = None, confirm_stale: bool = False
) -> Revision | None:
    """Make the pending draft of ``story`` what readers see; returns the new live revision.

    ``StaleDraftError`` when the live story changed since the draft was written, unless
    ``confirm_stale``.
    """
    draft = _pending_for_moderator(
        story, actor=actor, expected_version=expected_version, what="publish drafts"
    )
    if not confirm_stale and is_stale(story, draft):
        raise StaleDraftError(stale_draft_message(story, draft))
    reason = f"Draft #{draft.pk} published"
    restore_story(
        story=story, previous=draft.data, actor=actor, comment=reason, audit_action=AuditEntry.Action.EDIT
    )
    Story.objects.filter(pk=story.pk).update(draft_revision=None)
    # The restore's own write records the live revision; recording again is a no-op then.
    live = record_revision(story, actor=actor, reason=reason) or live_revision(story)
    audit.record(
        story=story,
        action=AuditEntry.Action.EDIT,
        actor=actor,
        field=DRAFT_FIELD,
        before=draft.pk,
        after=None,
        comment=reason,
    )
    story.refresh_from_db()
    return live


@transaction.atomic
def discard_draft(story: Story, *, actor, expected_version: int | None = None) -> Revision:
    """Set the pending draft of ``story`` aside: readers keep the live story, the draft stays in the
    history. Returns the discarded draft."""
    draft = _pending_for_moderator(
        story, actor=actor, expected_version=expected_version, what="discard drafts"
    )
    # The version moves (a page showing the draft is stale); updated_at does not: readers saw nothing.
    Story.objects.filter(pk=story.pk).update(draft_revision=None, version=F("version") + 1)
    audit.record(
        story=story,
        action=AuditEntry.Action.EDIT,
        actor=actor,
        field=DRAFT_FIELD,
        before=draft.pk,
        after=None,
        comment=f"Draft #{draft.pk} discarded",
    )
    story.refresh_from_db(fields=["version", "draft_revision"])
    return draft
