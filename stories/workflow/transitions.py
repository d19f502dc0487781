"""The state machine: ``TRANSITIONS`` is its one statement; everything else is derived from it.

Choices this state machine makes:

- **unpublish** and **expiry** move a story back to *in review*: it returns to the
  moderation queue, where a moderator can publish it again (with a new window) or reject it.
- Publishing a story whose expiry time has already passed is refused: set a new expiry
  time or clear it.
- Every transition made by a person marks ``published`` as editor-touched: each one is a
  decision about whether the story is public.
- "Published" means the state, whatever the window says: a story scheduled to go live
  later, or past its expiry but not yet moved back by the scheduler, is a moderator's
  decision about what readers see like a live one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from stories import audit
from stories.models import AuditEntry, ImportRun, State, Story

from .errors import WorkflowError
from .permissions import EDIT_PERMISSION, SCHEDULE_PERMISSION, has_perm, require, touched_after
from .revisions import baseline_of, record_revision
from .schedule import record_window, validate_window
from .versioned import check_version, write_versioned

SUBMIT = AuditEntry.Action.SUBMIT
PUBLISH = AuditEntry.Action.PUBLISH
UNPUBLISH = AuditEntry.Action.UNPUBLISH
REJECT = AuditEntry.Action.REJECT
REQUEST_CHANGES = AuditEntry.Action.REQUEST_CHANGES


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str
    permission: str
    comment_required: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(SUBMIT, "Submit for review", (State.DRAFT,), State.IN_REVIEW, "stories.submit_story"),
        Transition(
            PUBLISH,
            "Publish",
            (State.IN_REVIEW, State.DRAFT, State.REJECTED),
            State.PUBLISHED,
            "stories.publish_story",
        ),
        Transition(UNPUBLISH, "Unpublish", (State.PUBLISHED,), State.IN_REVIEW, "stories.publish_story"),
        Transition(REJECT, "Reject", (State.IN_REVIEW,), State.REJECTED, "stories.publish_story", True),
        Transition(
            REQUEST_CHANGES,
            "Request changes",
            (State.IN_REVIEW,),
            State.DRAFT,
            "stories.publish_story",
            True,
        ),
    )
}

IMPORT_STATE_COMMENT = "Moved by import: the file's published flag changed."
# What a transition did, as a revision's reason says it.
DONE = {
    SUBMIT: "Submitted for review",
    PUBLISH: "Published",
    UNPUBLISH: "Unpublished",
    REJECT: "Rejected",
    REQUEST_CHANGES: "Changes requested",
}


def action_between(current: str, target: str) -> str | None:
    """The transition that moves a story from ``current`` to ``target``; None when there is none."""
    return next((t.action for t in TRANSITIONS.values() if current in t.sources and t.target == target), None)


def import_action(state: str, *, published: bool, may_publish: bool) -> str | None:
    """The transition a story file asks for when its ``published`` flag flips, if any.

    A file goes as far towards what its flag says as the importer may: without publish
    permission a draft goes to review and a rejection stands; taking a story off the reader
    site is a moderator's decision, from a file too.
    """
    if state == State.PUBLISHED:
        return action_between(state, State.IN_REVIEW) if not published and may_publish else None
    if not published:
        return None
    return action_between(state, State.PUBLISHED if may_publish else State.IN_REVIEW)


def refusal(
    *, title: str, state: str, action: str, comment: str = "", expire_at: datetime | None, now: datetime
) -> str | None:
    """Why a story called ``title`` in ``state`` (expiring at ``expire_at``) cannot take ``action``;
    None when it can."""
    spec = TRANSITIONS.get(action)
    if spec is None:
        return f"Unknown workflow action {action!r}."
    if state not in spec.sources:
        return f"Cannot {spec.label.lower()} “{title}”: it is {State(state).label.lower()}."
    if spec.comment_required and not comment.strip():
        what = "a reason" if action == REJECT else "a comment"
        return f"{spec.label} of “{title}” needs {what}."
    if action == PUBLISH and expire_at is not None and expire_at <= now:
        return (
            f"“{title}” expired at {expire_at:%Y-%m-%d %H:%M %Z}: "
            "set a new expiry time or clear it before publishing."
        )
    return None


def may(actor, action: str) -> bool:
    """Whether ``actor`` holds the permission for a transition or for "schedule"/"edit"."""
    if action in TRANSITIONS:
        return has_perm(actor, TRANSITIONS[action].permission)
    return has_perm(actor, SCHEDULE_PERMISSION if action == AuditEntry.Action.SCHEDULE else EDIT_PERMISSION)


def available_transitions(story: Story, actor) -> list[Transition]:
    """The transitions ``actor`` may apply to ``story`` in its current state."""
    return [t for t in TRANSITIONS.values() if story.state in t.sources and may(actor, t.action)]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


def require_transition(actor, action: str, *, from_file: bool = False) -> Transition:
    """The transition ``action``, if ``actor`` holds its permission (``PermissionDenied`` if not)."""
    spec = TRANSITIONS.get(action)
    if spec is None:
        raise WorkflowError(f"Unknown workflow action {action!r}.")
    require(actor, spec.permission, spec.label.lower() + " stories", from_file=from_file)
    return spec


def state_changes(
    story: Story, action: str, *, actor, comment: str, expire_at: datetime | None, from_file: bool = False
) -> dict[str, Any]:
    """The columns ``action`` writes on ``story`` (state, its comment, ``editor_touched``), once the
    state machine allows it (``WorkflowError`` if not). ``expire_at``: the expiry it will have."""
    problem = refusal(
        title=story.title,
        state=story.state,
        action=action,
        comment=comment,
        expire_at=expire_at,
        now=timezone.now(),
    )
    if problem:
        raise WorkflowError(problem)
    changes: dict[str, Any] = {"state": TRANSITIONS[action].target, "state_comment": comment}
    touched = touched_after(story, actor, ["published"], from_file=from_file)
    if touched is not None:
        changes["editor_touched"] = touched
    return changes


def record_transition(story: Story, action: str, *, before: str, actor, import_run, comment: str) -> None:
    audit.record(
        story=story,
        action=action,
        actor=actor,
        import_run=import_run,
        field="state",
        before=before,
        after=TRANSITIONS[action].target,
        comment=comment,
    )


@transaction.atomic
def transition(
    story: Story,
    *,
    action: str,
    actor,
    comment: str = "",
    expected_version: int | None = None,
    go_live_at: datetime | None = UNSET,
    expire_at: datetime | None = UNSET,
    import_run: ImportRun | None = None,
) -> Story:
    """Move ``story`` along the workflow. ``go_live_at``/``expire_at`` only with ``publish``."""
    require_transition(actor, action)
    expected = check_version(story, expected_version)
    comment = (comment or "").strip()
    if action != PUBLISH and (go_live_at is not UNSET or expire_at is not UNSET):
        raise WorkflowError("A go-live or expiry time can only be given when publishing.")
    new_go_live = story.go_live_at if go_live_at is UNSET else go_live_at
    new_expire = story.expire_at if expire_at is UNSET else expire_at
    window: dict[str, datetime | None] = {}
    if action == PUBLISH:
        validate_window(new_go_live, new_expire)
        window = {
            name: value
            for name, value in (("go_live_at", new_go_live), ("expire_at", new_expire))
            if getattr(story, name) != value
        }
    changes = state_changes(story, action, actor=actor, comment=comment, expire_at=new_expire) | window
    before_state = story.state
    before_window = {name: getattr(story, name) for name in window}
    baseline = baseline_of(story)
    write_versioned(story, expected=expected, changes=changes)
    record_transition(story, action, before=before_state, actor=actor, import_run=import_run, comment=comment)
    record_window(story, before_window, window, actor=actor, import_run=import_run, comment=comment)
    record_revision(
        story, actor=actor, reason=_reason(story, action, comment), import_run=import_run, baseline=baseline
    )
    return story


def _reason(story: Story, action: str, comment: str) -> str:
    later = action == PUBLISH and story.go_live_at is not None and story.go_live_at > timezone.now()
    done = "Scheduled" if later else DONE[action]
    return f"{done}: {comment}" if comment else done
