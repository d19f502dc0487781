"""The editorial workflow: every state transition and every editorial change.

Nothing else writes ``Story.state``, the go-live/expiry window, ``quality``,
``heat``, topics, or a person's change to a story's content, related links or
images. Each function here

- checks the actor's permissions (``PermissionDenied``); ``actor=None`` is the
  system (the import command or the scheduler) and is always allowed;
- keeps the moderation promise: on a published story, what readers see (state,
  window, content, topics, related links, images: ``READER_FIELDS``) changes only
  by the hand of someone with ``stories.publish_story``; anyone else gets a
  ``ModeratorOnlyError`` that says so, and nothing is written. Quality and heat
  are ranking signals editors own. ``held_for_moderator()`` is the same rule for
  the importer, which keeps the story's values and reports the file's as a conflict;
- refuses invalid moves with a ``WorkflowError`` that says why;
- holds optimistic locking: the write is a conditional
  ``UPDATE ... WHERE version = <expected>`` that bumps ``version``, so of two
  concurrent writers only one can win; the other gets ``StaleStoryError``;
- records an ``AuditEntry`` per changed field (who, when, before, after, why),
  naming the person, also when the change came from a file they imported;
- adds the field to ``Story.editor_touched`` when a person made the change, so
  a re-import knows an editor decided. A value a person imported from a story
  file (``from_file=True``) is the file's, not an editorial decision.

Decisions where the product brief leaves a choice:

- **unpublish** and **expiry** move a story back to *in review*: it returns to
  the moderation queue, where a moderator can publish it again (with a new
  window) or reject it.
- Scheduled publishing is *publish* with a future ``go_live_at``; readers see a
  story only inside its window (``Story.objects.live()``) whether or not the
  scheduler runs. ``schedule()`` changes the window of a story in any state; on
  an unpublished story the window takes effect once it is published.
- Publishing a story whose expiry time has already passed is refused: set a
  new expiry time or clear it.
- Every transition made by a person marks ``published`` as editor-touched:
  each one is a decision about whether the story is public.
- "Published" means the state, whatever the window says: a story scheduled to
  go live later, or past its expiry but not yet moved back by the scheduler, is
  a moderator's decision about what readers see like a live one.
- ``secured`` is not reader-visible (opaque, never rendered, and it changes
  between versions of the same story), so editors may change it on a published story.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, Model, OuterRef, QuerySet, Subquery
from django.utils import timezone

from providers.models import Provider

from . import audit
from .images import replace_lead_image as store_lead_image
from .models import AuditEntry, Image, ImportRun, RelatedLink, State, Story, StoryTopic, Topic


class WorkflowError(ValidationError):
    """A move the workflow does not allow; the message says why."""

    def __str__(self) -> str:
        return " ".join(self.messages)


class StaleStoryError(WorkflowError):
    """The story changed since the caller read it; nothing was written."""


class ModeratorOnlyError(WorkflowError, PermissionDenied):
    """A change to what readers see of a published story by someone who is not a moderator.

    Both a workflow refusal with a message and a permission matter: callers that
    show either show it; an uncaught one answers 403.
    """


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

SUBMIT = "submit"
PUBLISH = "publish"
UNPUBLISH = "unpublish"
REJECT = "reject"
REQUEST_CHANGES = "request_changes"


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

MODERATE_PERMISSION = "stories.publish_story"
SCHEDULE_PERMISSION = MODERATE_PERMISSION
EDIT_PERMISSION = "stories.change_story"
IMPORT_PERMISSION = "stories.import_stories"

# Source fields a person may correct through update_editorial(content=...).
CONTENT_FIELDS = frozenset(
    {
        "category",
        "title",
        "excerpt",
        "published_at",
        "web_url",
        "original_url",
        "amp_web_url",
        "cdn_amp_web_url",
        "type",
        "provider",
        "provider_name",
        "featured_content",
        "secured",
        "body",
    }
)
# A story's rows besides its columns that a person may change (topics: update_editorial;
# related links and images: RowChanges; the lead image: replace_lead_image).
PART_FIELDS = ("topics", "related", "images")
# What readers see of a published story. Quality and heat rank stories: editors own them.
READER_FIELDS = frozenset(
    (CONTENT_FIELDS - {"secured"}) | {"published", "go_live_at", "expire_at", *PART_FIELDS}
)
# Every field whose change by a person is an editorial decision (``Story.editor_touched``):
# a re-import keeps the person's value and reports the file's as a conflict.
EDITORIAL_FIELDS = (*sorted(CONTENT_FIELDS), "published", "quality", "heat", *PART_FIELDS)

_LABELS = {"related": "related links", "published": "published state", "go_live_at": "go-live time"}


def _is_person(actor) -> bool:
    return actor is not None


def _require(actor, permission: str, what: str, *, from_file: bool = False) -> None:
    if actor is None:
        return
    if from_file and permission in (EDIT_PERMISSION, "stories.submit_story"):
        # Importing story files is its own permission (checked by the import service); what a
        # file may change on a published story is still the moderators' (held_for_moderator).
        permission = IMPORT_PERMISSION
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(permission):
        raise PermissionDenied(f"You do not have permission to {what}.")


def may_moderate(actor) -> bool:
    """Whether ``actor`` may change what readers see of a published story (the system may)."""
    if actor is None:
        return True
    return bool(getattr(actor, "is_authenticated", False) and actor.has_perm(MODERATE_PERMISSION))


def held_for_moderator(story: Story, actor, fields: Iterable[str]) -> list[str]:
    """The ``fields`` that ``actor`` may not change on ``story``: what readers see of a published
    story, unless ``actor`` is a moderator (or the system). The one statement of the rule."""
    if story.state != State.PUBLISHED or may_moderate(actor):
        return []
    return [name for name in fields if name in READER_FIELDS]


def topic_held_for_moderator(topic: Topic, actor) -> bool:
    """Whether renaming ``topic`` is the moderators' decision: readers see it on a published story."""
    if may_moderate(actor):
        return False
    return Story.objects.published().filter(story_topics__topic=topic).exists()


def _field_label(name: str) -> str:
    if name in _LABELS:
        return _LABELS[name]
    try:
        return str(getattr(Story._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:  # a reverse relation (images)
        return name.replace("_", " ")


def moderator_only_message(story: Story, fields: Iterable[str]) -> str:
    names = list(dict.fromkeys(_field_label(name) for name in fields))
    what = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return (
        f"“{story.title}” is published: only a moderator can change what readers see. "
        f"Nothing was saved; ask a moderator to change its {what}, or to take it back to review first."
    )


def _refuse_unless_moderator(story: Story, actor, fields: Iterable[str]) -> None:
    held = held_for_moderator(story, actor, fields)
    if held:
        raise ModeratorOnlyError(moderator_only_message(story, held))


def may(actor, action: str) -> bool:
    """Whether ``actor`` holds the permission for a transition or for "schedule"/"edit"."""
    if action in TRANSITIONS:
        permission = TRANSITIONS[action].permission
    elif action == "schedule":
        permission = SCHEDULE_PERMISSION
    else:
        permission = EDIT_PERMISSION
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return bool(authenticated and actor.has_perm(permission))


def available_transitions(story: Story, actor) -> list[Transition]:
    """The transitions ``actor`` may apply to ``story`` in its current state."""
    return [t for t in TRANSITIONS.values() if story.state in t.sources and may(actor, t.action)]


@dataclass
class BulkResult:
    """What a bulk action did: the stories changed, and why each other one was skipped."""

    done: list[Story] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self, verb: str) -> tuple[str | None, str | None]:
        done = (
            f"{verb} {len(self.done)} {'story' if len(self.done) == 1 else 'stories'}." if self.done else None
        )
        skipped = f"Skipped {len(self.skipped)}: " + " ".join(self.skipped) if self.skipped else None
        return done, skipped


def apply_each(
    stories: Iterable[Story],
    change: Callable[[Story, int | None], object],
    *,
    versions: Mapping[int, int],
    require_version: bool = False,
) -> BulkResult:
    """Apply ``change(story, version_seen)`` to each story in its own transaction.

    A story that may not take the change, or that changed since ``versions``
    were read, is skipped and reported; the others go ahead.
    """
    result = BulkResult()
    for story in stories:
        seen = versions.get(story.pk)
        if seen is None and require_version:
            result.skipped.append(f"“{story.title}”: the page did not say which version you saw.")
            continue
        try:
            change(story, seen)
        except WorkflowError as error:  # its message names the story (ModeratorOnlyError included)
            result.skipped.append(str(error))
        except PermissionDenied as error:
            result.skipped.append(f"“{story.title}”: {error or 'not allowed'}")
        else:
            result.done.append(story)
    return result


def _audit_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "_meta"):  # a model instance, e.g. the provider
        return str(value)
    return value


def _check_version(story: Story, expected_version: int | None) -> int:
    if expected_version is not None and int(expected_version) != story.version:
        raise StaleStoryError(_stale_message(story))
    return story.version


def _stale_message(story: Story) -> str:
    return (
        f"“{story.title}” was changed by someone else since you loaded it. "
        "Nothing was saved; reload to see the current version and try again."
    )


def _write(story: Story, *, expected: int, changes: Mapping[str, Any]) -> None:
    """Conditionally write ``changes`` and bump the version; refuse if someone else wrote first."""
    now = timezone.now()
    updated = Story.objects.filter(pk=story.pk, version=expected).update(
        version=F("version") + 1, updated_at=now, **changes
    )
    if updated != 1:
        raise StaleStoryError(_stale_message(story))
    for name, value in changes.items():
        setattr(story, name, value)
    story.version = expected + 1
    story.updated_at = now


def _touched(story: Story, actor, fields: Iterable[str], *, from_file: bool = False) -> list[str] | None:
    if not _is_person(actor) or from_file:
        return None
    current = list(story.editor_touched or [])
    added = [f for f in fields if f not in current]
    return current + added if added else None


def _validate_window(go_live_at: datetime | None, expire_at: datetime | None) -> None:
    for name, value in (("go-live time", go_live_at), ("expiry time", expire_at)):
        if value is not None and timezone.is_naive(value):
            raise WorkflowError(f"The {name} needs a time zone.")
    if go_live_at is not None and expire_at is not None and expire_at <= go_live_at:
        raise WorkflowError("The expiry time must be after the go-live time.")


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
    from_file: bool = False,
) -> Story:
    """Move ``story`` along the workflow. ``go_live_at``/``expire_at`` only with ``publish``.

    ``from_file``: the move follows a story file ``actor`` imported (audited under
    ``actor``, not an editorial decision).
    """
    spec = TRANSITIONS.get(action)
    if spec is None:
        raise WorkflowError(f"Unknown workflow action {action!r}.")
    _require(actor, spec.permission, spec.label.lower() + " stories", from_file=from_file)
    expected = _check_version(story, expected_version)
    comment = (comment or "").strip()
    if story.state not in spec.sources:
        raise WorkflowError(
            f"Cannot {spec.label.lower()} “{story.title}”: it is {story.get_state_display().lower()}."
        )
    if spec.comment_required and not comment:
        what = "a reason" if action == REJECT else "a comment"
        raise WorkflowError(f"{spec.label} of “{story.title}” needs {what}.")
    if action != PUBLISH and (go_live_at is not UNSET or expire_at is not UNSET):
        raise WorkflowError("A go-live or expiry time can only be given when publishing.")

    changes: dict[str, Any] = {"state": spec.target, "state_comment": comment}
    window: dict[str, datetime | None] = {}
    if action == PUBLISH:
        new_go_live = story.go_live_at if go_live_at is UNSET else go_live_at
        new_expire = story.expire_at if expire_at is UNSET else expire_at
        _validate_window(new_go_live, new_expire)
        if new_expire is not None and new_expire <= timezone.now():
            raise WorkflowError(
                f"“{story.title}” expired at {new_expire:%Y-%m-%d %H:%M %Z}: "
                "set a new expiry time or clear it before publishing."
            )
        for name, value in (("go_live_at", new_go_live), ("expire_at", new_expire)):
            if getattr(story, name) != value:
                window[name] = value
        changes.update(window)
    touched = _touched(story, actor, ["published"], from_file=from_file)
    if touched is not None:
        changes["editor_touched"] = touched

    before_state = story.state
    before_window = {name: getattr(story, name) for name in window}
    _write(story, expected=expected, changes=changes)
    audit.record(
        story=story,
        action=action,
        actor=actor,
        import_run=import_run,
        field="state",
        before=before_state,
        after=spec.target,
        comment=comment,
    )
    _record_schedule(story, before_window, window, actor=actor, import_run=import_run, comment=comment)
    return story


IMPORT_STATE_COMMENT = "Moved by import: the file's published flag changed."


def import_state_target(state: str, *, published: bool, actor) -> str:
    """The state ``apply_import_state`` moves a story in ``state`` to (``state`` itself: no move)."""
    action = _import_action(state, published=published, may_publish=may_moderate(actor))
    return TRANSITIONS[action].target if action else state


def _import_action(state: str, *, published: bool, may_publish: bool) -> str | None:
    if not published:
        # Taking a story off the reader site is a moderator's decision, from a file too.
        return UNPUBLISH if state == State.PUBLISHED and may_publish else None
    if state == State.PUBLISHED:
        return None
    if may_publish:
        return PUBLISH
    # Without publish permission the story goes to review; a rejection stands.
    return SUBMIT if state == State.DRAFT else None


@transaction.atomic
def apply_import_state(
    story: Story,
    *,
    published: bool,
    actor,
    import_run: ImportRun | None,
    expected_version: int | None = None,
) -> str | None:
    """A re-imported file flipped ``published``: make the matching transition.

    Validated and audited like any other transition, under the person who
    imported the file (``actor``; None for the import command) and linked to the
    import run. An import by someone without publish permission submits a draft
    for review instead of publishing it, and never unpublishes. Returns the
    action taken, or None when no transition applies.
    """
    action = _import_action(story.state, published=published, may_publish=may_moderate(actor))
    if action is None:
        return None
    transition(
        story,
        action=action,
        actor=actor,
        comment=IMPORT_STATE_COMMENT,
        expected_version=expected_version,
        import_run=import_run,
        from_file=True,
    )
    return action


@transaction.atomic
def schedule(
    story: Story,
    *,
    actor,
    go_live_at: datetime | None,
    expire_at: datetime | None,
    expected_version: int | None = None,
    comment: str = "",
    import_run: ImportRun | None = None,
) -> Story:
    """Set the window in which readers may see ``story`` (``None`` = no bound)."""
    _require(actor, SCHEDULE_PERMISSION, "schedule stories")
    expected = _check_version(story, expected_version)
    _validate_window(go_live_at, expire_at)
    changes = {
        name: value
        for name, value in (("go_live_at", go_live_at), ("expire_at", expire_at))
        if getattr(story, name) != value
    }
    if not changes:
        return story
    before = {name: getattr(story, name) for name in changes}
    _write(story, expected=expected, changes=changes)
    _record_schedule(story, before, changes, actor=actor, import_run=import_run, comment=comment)
    return story


def _record_schedule(story: Story, before: dict, after: dict, *, actor, import_run, comment: str) -> None:
    """One audit entry per go-live/expiry field that changed."""
    for name, value in after.items():
        audit.record(
            story=story,
            action="schedule",
            actor=actor,
            import_run=import_run,
            field=name,
            before=_audit_value(before[name]),
            after=_audit_value(value),
            comment=comment,
        )


def _topic_names(topics: Sequence[Topic]) -> list[str]:
    return [t.name for t in topics]


def current_topics(story: Story) -> list[Topic]:
    """The story's topics in order (uses a ``story_topics`` prefetch when there is one)."""
    return [st.topic for st in story.story_topics.all()]


@dataclass
class RowChanges:
    """Related links or images of one story to add, change and delete, as an admin inline gives them.

    ``changed`` holds each row with its new values and the names of the columns the
    person changed; a column whose value turns out equal to the stored one is ignored.
    """

    added: Sequence[Model] = ()
    changed: Sequence[tuple[Model, Sequence[str]]] = ()
    deleted: Sequence[Model] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.deleted)


# Columns an audit entry shows for a whole related link or image (added or deleted).
_ROW_SUMMARY = {
    RelatedLink: ("position", "title", "web_url", "original_url", "type", "provider", "provider_name"),
    Image: ("role", "position", "url", "width", "height", "title"),
}
# An image whose URL changes is no longer the picture our cached copy shows.
_IMAGE_CACHE_RESET = {
    "cache_status": Image.CacheStatus.PENDING,
    "cache_error": "",
    "cached_at": None,
    "local_file": None,
    "local_width": None,
    "local_height": None,
    "thumbnails": {},
    "origin": "",
    "source_url": "",
}


@dataclass
class _RowEdit:
    field: str  # "related", "images" or "provider" (a provider logo)
    before: Any
    after: Any
    apply: Callable[[], object]


def _column_value(row: Model, name: str) -> Any:
    return _audit_value(row._meta.get_field(name).value_from_object(row))


def _row_field(model, rows: Iterable[Model]) -> str:
    if model is RelatedLink:
        return "related"
    # A provider logo belongs to the story's provider; every other image is the story's own.
    return "provider" if all(row.role == Image.Role.PROVIDER for row in rows) else "images"


def _owned_by(story: Story, row: Model) -> bool:
    if isinstance(row, RelatedLink):
        return row.story_id == story.pk
    return row.story_id == story.pk or (
        row.related_link_id is not None
        and RelatedLink.objects.filter(pk=row.related_link_id, story=story).exists()
    )


def _stored_row(story: Story, row: Model) -> Model:
    """The row as stored; gone or moved to another story since the page was read: stale."""
    stored = type(row).objects.filter(pk=row.pk).first()
    if stored is None or not _owned_by(story, stored):
        raise StaleStoryError(_stale_message(story))
    return stored


def _plan_rows(story: Story, changes: RowChanges) -> list[_RowEdit]:
    """What ``changes`` does, row by row, checked against the stored rows before anything is written."""
    edits: list[_RowEdit] = []
    for row in changes.added:
        model = type(row)
        if not _owned_by(story, row):
            raise WorkflowError(f"That row does not belong to “{story.title}”.")
        summary = {name: _column_value(row, name) for name in _ROW_SUMMARY[model]}
        edits.append(_RowEdit(_row_field(model, [row]), None, summary, row.save))
    for row, names in changes.changed:
        model = type(row)
        stored = _stored_row(story, row)
        columns = {f.name for f in model._meta.concrete_fields}
        names = [n for n in names if n in columns and _column_value(stored, n) != _column_value(row, n)]
        if not names:
            continue
        update_fields = list(names)
        if model is Image and "url" in names:
            for name, value in _IMAGE_CACHE_RESET.items():
                setattr(row, name, value)
            update_fields += list(_IMAGE_CACHE_RESET)
        before = {"id": row.pk} | {n: _column_value(stored, n) for n in names}
        after = {"id": row.pk} | {n: _column_value(row, n) for n in names}
        edits.append(
            _RowEdit(
                _row_field(model, [stored, row]),
                before,
                after,
                lambda row=row, fields=update_fields: row.save(update_fields=fields),
            )
        )
    for row in changes.deleted:
        model = type(row)
        stored = _stored_row(story, row)
        summary = {"id": row.pk} | {name: _column_value(stored, name) for name in _ROW_SUMMARY[model]}
        edits.append(_RowEdit(_row_field(model, [stored]), summary, None, stored.delete))
    return edits


@transaction.atomic
def update_editorial(
    story: Story,
    *,
    actor,
    quality: int | None = UNSET,
    heat: int | None = UNSET,
    topics: Sequence[Topic] = UNSET,
    add_topics: Sequence[Topic] = (),
    remove_topics: Sequence[Topic] = (),
    content: Mapping[str, Any] | None = None,
    related: RowChanges | None = None,
    images: RowChanges | None = None,
    expected_version: int | None = None,
    comment: str = "",
    import_run: ImportRun | None = None,
    from_file: bool = False,
) -> list[str]:
    """Change quality, heat, topics, source ``content`` fields, related links and images; unset
    means unchanged. All or nothing, under one version check.

    ``topics`` replaces the list (in that order); ``add_topics``/``remove_topics``
    edit it. Returns the names of the fields that changed; nothing is written
    (and the version stays) when nothing changed. On a published story, a change
    to what readers see by someone who is not a moderator raises
    ``ModeratorOnlyError`` and nothing is written. ``from_file``: the values come
    from a story file ``actor`` imported.
    """
    _require(actor, EDIT_PERMISSION, "change stories", from_file=from_file)
    expected = _check_version(story, expected_version)
    content = dict(content or {})
    unknown = set(content) - CONTENT_FIELDS
    if unknown:
        raise WorkflowError(f"Not a content field: {', '.join(sorted(unknown))}.")

    changes: dict[str, Any] = {}
    audits: list[tuple[str, Any, Any]] = []
    for name, value in (("quality", quality), ("heat", heat)):
        if value is UNSET:
            continue
        if value is not None and not isinstance(value, int):
            raise WorkflowError(f"{name.capitalize()} must be a whole number.")
        if getattr(story, name) != value:
            changes[name] = value
            audits.append((name, getattr(story, name), value))
    for name, value in content.items():
        old = getattr(story, name)
        if old != value:
            changes[name] = value
            audits.append((name, _audit_value(old), _audit_value(value)))

    new_topics: list[Topic] | None = None
    if topics is not UNSET or add_topics or remove_topics:
        old_topics = current_topics(story)
        wanted = list(old_topics if topics is UNSET else topics)
        wanted += [t for t in add_topics if t not in wanted]
        removed = {t.pk for t in remove_topics}
        wanted = [t for t in dict.fromkeys(wanted) if t.pk not in removed]
        if [t.pk for t in wanted] != [t.pk for t in old_topics]:
            new_topics = wanted
            audits.append(("topics", _topic_names(old_topics), _topic_names(wanted)))

    rows: list[_RowEdit] = []
    for part in (related, images):
        if part:
            rows += _plan_rows(story, part)

    changed = list(dict.fromkeys([name for name, _, _ in audits] + [edit.field for edit in rows]))
    if not changed:
        return []
    _refuse_unless_moderator(story, actor, changed)
    touched = _touched(story, actor, changed, from_file=from_file)
    if touched is not None:
        changes["editor_touched"] = touched
    _write(story, expected=expected, changes=changes)
    if new_topics is not None:
        StoryTopic.objects.filter(story=story).delete()
        StoryTopic.objects.bulk_create(
            StoryTopic(story=story, topic=topic, position=position)
            for position, topic in enumerate(new_topics)
        )
    for edit in rows:
        edit.apply()
    if (new_topics is not None or rows) and hasattr(story, "_prefetched_objects_cache"):
        story._prefetched_objects_cache.clear()
    for name, before, after in audits + [(edit.field, edit.before, edit.after) for edit in rows]:
        audit.record(
            story=story,
            action="edit",
            actor=actor,
            import_run=import_run,
            field=name,
            before=before,
            after=after,
            comment=comment,
        )
    return changed


@transaction.atomic
def replace_lead_image(
    story: Story,
    *,
    actor,
    data: bytes,
    title: str = "",
    comment: str = "",
    expected_version: int | None = None,
) -> Image:
    """Make an uploaded picture the story's lead image (``stories.images.replace_lead_image``
    stores it and writes the audit entry), under the version check and the moderation rule."""
    _require(actor, EDIT_PERMISSION, "change stories")
    expected = _check_version(story, expected_version)
    _refuse_unless_moderator(story, actor, ["images"])
    touched = _touched(story, actor, ["images"])
    _write(story, expected=expected, changes={"editor_touched": touched} if touched is not None else {})
    return store_lead_image(story=story, data=data, actor=actor, title=title, comment=comment)


# --- The scheduler ---------------------------------------------------------------------------


@dataclass
class ScheduleReport:
    went_live: list[Story] = field(default_factory=list)
    expired: list[Story] = field(default_factory=list)


def _last_publish_subquery():
    return Subquery(
        AuditEntry.objects.filter(story=OuterRef("pk"), action=PUBLISH)
        .order_by("-created_at")
        .values("created_at")[:1]
    )


def due_to_go_live(now: datetime) -> QuerySet[Story]:
    """Published stories whose go-live time passed after they were published, not yet recorded."""
    already = AuditEntry.objects.filter(
        story=OuterRef("pk"), action="went_live", created_at=OuterRef("go_live_at")
    )
    return (
        Story.objects.published()
        .filter(go_live_at__isnull=False, go_live_at__lte=now)
        .annotate(last_publish=_last_publish_subquery())
        .filter(last_publish__lt=F("go_live_at"))
        .exclude(Exists(already))
        .order_by("go_live_at", "pk")
    )


def due_to_expire(now: datetime) -> QuerySet[Story]:
    return (
        Story.objects.published()
        .filter(expire_at__isnull=False, expire_at__lte=now)
        .order_by("expire_at", "pk")
    )


def _record_at(when: datetime, **kwargs) -> None:
    entry = audit.record(**kwargs)
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=when)


@transaction.atomic
def apply_schedule(*, now: datetime | None = None, dry_run: bool = False) -> ScheduleReport:
    """Record scheduled go-lives and expiries that have happened, at the times they happened.

    Idempotent: a go-live is recorded once; an expired story leaves *published*
    (to *in review*), so it is not found again. Readers never depend on this:
    ``Story.objects.live()`` already honours the window.
    """
    now = now or timezone.now()
    going_live, expiring = due_to_go_live(now), due_to_expire(now)
    if not dry_run:
        # Two schedulers started at once must not both record the same transition.
        going_live = going_live.select_for_update(of=("self",))
        expiring = expiring.select_for_update(of=("self",))
    report = ScheduleReport(went_live=list(going_live), expired=list(expiring))
    if dry_run:
        return report
    for story in report.went_live:
        _record_at(
            story.go_live_at,
            story=story,
            action="went_live",
            field="state",
            before=State.PUBLISHED,
            after=State.PUBLISHED,
            comment="Scheduled go-live time reached.",
        )
    for story in report.expired:
        expired_at = story.expire_at
        comment = f"Expired at {expired_at:%Y-%m-%d %H:%M %Z}."
        _write(story, expected=story.version, changes={"state": State.IN_REVIEW, "state_comment": comment})
        _record_at(
            expired_at,
            story=story,
            action="expired",
            field="state",
            before=State.PUBLISHED,
            after=State.IN_REVIEW,
            comment=comment,
        )
    return report


# --- Merging duplicates ------------------------------------------------------------------------


@transaction.atomic
def merge_topics(*, survivor: Topic, duplicates: Sequence[Topic], actor) -> int:
    """Move every story of ``duplicates`` to ``survivor`` (through update_editorial, so audited), then
    delete the duplicates. Returns the number of stories changed."""
    _require(actor, "stories.delete_topic", "merge topics")
    duplicates = [t for t in duplicates if t.pk != survivor.pk]
    if not duplicates:
        raise WorkflowError("Choose at least one other topic to merge into the one that stays.")
    duplicate_pks = {t.pk for t in duplicates}
    names = ", ".join(t.name for t in duplicates)
    stories = (
        Story.objects.filter(story_topics__topic__in=duplicate_pks).distinct().with_cards().order_by("pk")
    )
    changed = 0
    for story in stories:
        merged = [survivor if t.pk in duplicate_pks else t for t in current_topics(story)]
        update_editorial(
            story,
            actor=actor,
            topics=list(dict.fromkeys(merged)),
            comment=f"Merged {names} into {survivor.name}.",
        )
        changed += 1
    Topic.objects.filter(pk__in=duplicate_pks).delete()
    return changed


@transaction.atomic
def merge_providers(*, survivor: Provider, duplicates: Sequence[Provider], actor) -> int:
    """Move the stories and related coverage of ``duplicates`` to ``survivor``, audit each story,
    then delete the duplicates. Returns the number of stories moved."""
    _require(actor, "providers.change_provider", "merge providers")
    duplicates = [p for p in duplicates if p.pk != survivor.pk]
    if not duplicates:
        raise WorkflowError("Choose at least one other provider to merge into the one that stays.")
    by_pk = {p.pk: p for p in duplicates}
    comment = f"Merged {', '.join(p.name for p in duplicates)} into {survivor.name}."
    moved = 0
    for story in Story.objects.filter(provider__in=by_pk).select_for_update().order_by("pk"):
        before = str(by_pk[story.provider_id])
        _write(story, expected=story.version, changes={"provider": survivor})
        audit.record(
            story=story,
            action="merge",
            actor=actor,
            field="provider",
            before=before,
            after=str(survivor),
            comment=comment,
        )
        moved += 1
    RelatedLink.objects.filter(provider__in=by_pk).update(provider=survivor)
    Provider.objects.filter(pk__in=by_pk).delete()
    return moved
