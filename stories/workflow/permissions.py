"""Who may change what: the permissions, and the moderation promise.

``actor=None`` is the system (the import command, the scheduler) and is always allowed.
On a published story, what readers see (``READER_FIELDS``) changes only by the hand of
someone with ``stories.publish_story``: ``held_for_moderator()`` is the one statement of
that rule, for forms, bulk actions, imports and spreadsheets alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.exceptions import FieldDoesNotExist, PermissionDenied

from stories.models import STORY_FILE_COLUMNS, State, Story, Topic

from .errors import ModeratorOnlyError

MODERATE_PERMISSION = "stories.publish_story"
SCHEDULE_PERMISSION = MODERATE_PERMISSION
EDIT_PERMISSION = "stories.change_story"
SUBMIT_PERMISSION = "stories.submit_story"
IMPORT_PERMISSION = "stories.import_stories"

# Source fields a person may correct through update_editorial(content=...): what a story file
# gives besides the ranking signals (quality, heat), its provider and its body.
CONTENT_FIELDS = (frozenset(STORY_FILE_COLUMNS) - {"quality", "heat"}) | {"provider", "provider_name", "body"}
# A story's rows besides its columns that a person may change (topics: update_editorial;
# related links and images: RowChanges; the lead image: replace_lead_image).
PART_FIELDS = ("topics", "related", "images")
# What readers see of a published story. Quality and heat rank stories: editors own them.
# ``secured`` is opaque, never rendered, and changes between versions of the same story.
READER_FIELDS = frozenset(
    (CONTENT_FIELDS - {"secured"}) | {"published", "go_live_at", "expire_at", *PART_FIELDS}
)
# Every field whose change by a person is an editorial decision (``Story.editor_touched``):
# a re-import keeps the person's value and reports the file's as a conflict.
EDITORIAL_FIELDS = (*sorted(CONTENT_FIELDS), "published", "quality", "heat", *PART_FIELDS)

_LABELS = {"related": "related links", "published": "published state", "go_live_at": "go-live time"}


def is_person(actor) -> bool:
    """Whether ``actor`` is a signed-in person (not the system, not an anonymous visitor)."""
    return actor is not None and bool(getattr(actor, "is_authenticated", False))


def has_perm(actor, permission: str) -> bool:
    """Whether ``actor`` is a person holding ``permission`` (the system holds none by this test)."""
    return is_person(actor) and actor.has_perm(permission)


def require(actor, permission: str, what: str, *, from_file: bool = False) -> None:
    """Raise ``PermissionDenied`` ("You do not have permission to <what>.") unless ``actor`` may.

    ``from_file``: the change follows a story file ``actor`` imported. Importing story files is
    its own permission (checked by the import service); what a file may change on a published
    story is still the moderators' (``held_for_moderator``).
    """
    if actor is None:
        return
    if from_file and permission in (EDIT_PERMISSION, SUBMIT_PERMISSION):
        permission = IMPORT_PERMISSION
    if not has_perm(actor, permission):
        raise PermissionDenied(f"You do not have permission to {what}.")


def may_moderate(actor) -> bool:
    """Whether ``actor`` may change what readers see of a published story (the system may)."""
    return actor is None or has_perm(actor, MODERATE_PERMISSION)


def held_fields(state: str, *, moderator: bool, fields: Iterable[str]) -> list[str]:
    """The ``fields`` a story in ``state`` keeps against someone who is (not) a ``moderator``."""
    if state != State.PUBLISHED or moderator:
        return []
    return [name for name in fields if name in READER_FIELDS]


def held_for_moderator(story: Story, actor, fields: Iterable[str]) -> list[str]:
    """The ``fields`` that ``actor`` may not change on ``story``: what readers see of a published
    story, unless ``actor`` is a moderator (or the system)."""
    return held_fields(story.state, moderator=may_moderate(actor), fields=fields)


def topic_held_for_moderator(topic: Topic, actor) -> bool:
    """Whether renaming ``topic`` is the moderators' decision: readers see it on a published story."""
    if may_moderate(actor):
        return False
    return Story.objects.published().filter(story_topics__topic=topic).exists()


def field_label(name: str) -> str:
    if name in _LABELS:
        return _LABELS[name]
    try:
        return str(getattr(Story._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:  # a reverse relation (images)
        return name.replace("_", " ")


def moderator_only_message(story: Story, fields: Iterable[str]) -> str:
    names = list(dict.fromkeys(field_label(name) for name in fields))
    what = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return (
        f"“{story.title}” is published: only a moderator can change what readers see. "
        f"Nothing was saved; ask a moderator to change its {what}, or to take it back to review first."
    )


# Stories whose change is being made as a draft (``workflow.drafts``): written inside a savepoint
# that is rolled back, so what readers see does not change.
_PROPOSING: ContextVar[frozenset[int]] = ContextVar("proposing", default=frozenset())


@contextmanager
def proposing(story: Story) -> Iterator[None]:
    """Within this block a held change to ``story`` is written: it is a draft's, rolled back after."""
    token = _PROPOSING.set(_PROPOSING.get() | {story.pk})
    try:
        yield
    finally:
        _PROPOSING.reset(token)


def refuse_unless_moderator(story: Story, actor, fields: Iterable[str]) -> None:
    held = held_for_moderator(story, actor, fields)
    if held and story.pk not in _PROPOSING.get():
        raise ModeratorOnlyError(moderator_only_message(story, held))


def touched_after(story: Story, actor, fields: Iterable[str], *, from_file: bool = False) -> list[str] | None:
    """``Story.editor_touched`` once ``actor`` changed ``fields``; None when it stays as it is.

    A value a person imported from a story file is the file's, not an editorial decision.
    """
    if not is_person(actor) or from_file:
        return None
    current = list(story.editor_touched or [])
    added = [name for name in fields if name not in current]
    return current + added if added else None
