"""Editorial changes: quality, heat, topics, a person's corrections of content, related links
and images, and the lead image. One call, one version check, all or nothing; an audit entry per
field or row; every field a person changes is remembered in ``Story.editor_touched``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model

from stories import audit
from stories.images import copy_columns, store_upload
from stories.models import AuditEntry, Image, ImportRun, RelatedLink, Story, StoryTopic, Topic

from .errors import WorkflowError
from .permissions import CONTENT_FIELDS, EDIT_PERMISSION, refuse_unless_moderator, require, touched_after
from .revisions import baseline_of, record_revision
from .schedule import audit_value
from .transitions import UNSET
from .versioned import check_version, stale_error, write_versioned


def current_topics(story: Story) -> list[Topic]:
    """The story's topics in order (uses a ``story_topics`` prefetch when there is one)."""
    return [st.topic for st in story.story_topics.all()]


def write_topics(story: Story, topics: Sequence[Topic]) -> None:
    """Replace the story's topic rows with ``topics``, in that order."""
    StoryTopic.objects.filter(story=story).delete()
    StoryTopic.objects.bulk_create(
        StoryTopic(story=story, topic=topic, position=position) for position, topic in enumerate(topics)
    )


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
    return audit_value(row._meta.get_field(name).value_from_object(row))


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
        raise stale_error(story, story.version)
    return stored


def _changed_row(story: Story, row: Model, names: Sequence[str]) -> _RowEdit | None:
    model = type(row)
    stored = _stored_row(story, row)
    columns = {f.name for f in model._meta.concrete_fields}
    names = [n for n in names if n in columns and _column_value(stored, n) != _column_value(row, n)]
    if not names:
        return None
    update_fields = list(names)
    if model is Image and "url" in names:
        for name, value in _IMAGE_CACHE_RESET.items():
            setattr(row, name, value)
        update_fields += list(_IMAGE_CACHE_RESET)
    return _RowEdit(
        _row_field(model, [stored, row]),
        {"id": row.pk} | {n: _column_value(stored, n) for n in names},
        {"id": row.pk} | {n: _column_value(row, n) for n in names},
        lambda: row.save(update_fields=update_fields),
    )


def _plan_rows(story: Story, changes: RowChanges) -> list[_RowEdit]:
    """What ``changes`` does, row by row, checked against the stored rows before anything is written."""
    edits: list[_RowEdit] = []
    for row in changes.added:
        if not _owned_by(story, row):
            raise WorkflowError(f"That row does not belong to “{story.title}”.")
        summary = {name: _column_value(row, name) for name in _ROW_SUMMARY[type(row)]}
        edits.append(_RowEdit(_row_field(type(row), [row]), None, summary, row.save))
    for row, names in changes.changed:
        edit = _changed_row(story, row, names)
        if edit is not None:
            edits.append(edit)
    for row in changes.deleted:
        stored = _stored_row(story, row)
        summary = {"id": row.pk} | {name: _column_value(stored, name) for name in _ROW_SUMMARY[type(row)]}
        edits.append(_RowEdit(_row_field(type(row), [stored]), summary, None, stored.delete))
    return edits


def score_changes(story: Story, **scores: Any) -> dict[str, tuple[Any, Any]]:
    """Quality or heat that change, as ``{name: (before, after)}``; unset means unchanged."""
    changes = {}
    for name, value in scores.items():
        if value is UNSET:
            continue
        if value is not None and not isinstance(value, int):
            raise WorkflowError(f"{name.capitalize()} must be a whole number.")
        if getattr(story, name) != value:
            changes[name] = (getattr(story, name), value)
    return changes


def _wanted_topics(
    story: Story, topics: Sequence[Topic], add: Sequence[Topic], remove: Sequence[Topic]
) -> tuple[list[Topic], list[Topic]] | None:
    """The topics before and after, when they change."""
    old = current_topics(story)
    wanted = list(old if topics is UNSET else topics)
    wanted += [t for t in add if t not in wanted]
    removed = {t.pk for t in remove}
    wanted = [t for t in dict.fromkeys(wanted) if t.pk not in removed]
    return (old, wanted) if [t.pk for t in wanted] != [t.pk for t in old] else None


def forget_prefetched(story: Story) -> None:
    """Rows of ``story`` were rewritten: a prefetch made before shows the old ones."""
    if hasattr(story, "_prefetched_objects_cache"):
        story._prefetched_objects_cache.clear()


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
) -> list[str]:
    """Change quality, heat, topics, source ``content`` fields, related links and images; unset
    means unchanged. All or nothing, under one version check.

    ``topics`` replaces the list (in that order); ``add_topics``/``remove_topics``
    edit it. Returns the names of the fields that changed; nothing is written
    (and the version stays) when nothing changed. On a published story, a change
    to what readers see by someone who is not a moderator raises
    ``ModeratorOnlyError`` and nothing is written.
    """
    require(actor, EDIT_PERMISSION, "change stories")
    expected = check_version(story, expected_version)
    content = dict(content or {})
    unknown = set(content) - CONTENT_FIELDS
    if unknown:
        raise WorkflowError(f"Not a content field: {', '.join(sorted(unknown))}.")

    scores = score_changes(story, quality=quality, heat=heat)
    audits = [(name, before, after) for name, (before, after) in scores.items()]
    audits += [
        (name, audit_value(getattr(story, name)), audit_value(value))
        for name, value in content.items()
        if getattr(story, name) != value
    ]
    changes: dict[str, Any] = {name: content.get(name, after) for name, _, after in audits}
    topic_change = _wanted_topics(story, topics, add_topics, remove_topics)
    if topic_change is not None:
        old, new = topic_change
        audits.append(("topics", [t.name for t in old], [t.name for t in new]))
    rows = [edit for part in (related, images) if part for edit in _plan_rows(story, part)]

    changed = list(dict.fromkeys([name for name, _, _ in audits] + [edit.field for edit in rows]))
    if not changed:
        return []
    refuse_unless_moderator(story, actor, changed)
    touched = touched_after(story, actor, changed)
    if touched is not None:
        changes["editor_touched"] = touched
    baseline = baseline_of(story)
    write_versioned(story, expected=expected, changes=changes)
    if topic_change is not None:
        write_topics(story, topic_change[1])
    for edit in rows:
        edit.apply()
    if topic_change is not None or rows:
        forget_prefetched(story)
    for name, before, after in audits + [(edit.field, edit.before, edit.after) for edit in rows]:
        audit.record(
            story=story,
            action=AuditEntry.Action.EDIT,
            actor=actor,
            import_run=import_run,
            field=name,
            before=before,
            after=after,
            comment=comment,
        )
    reason = comment or f"Changed {', '.join(changed)}"
    record_revision(story, actor=actor, reason=reason, import_run=import_run, baseline=baseline)
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
    """Make an uploaded picture the story's lead image, under the version check and the moderation
    rule, with an audit entry.

    The picture is verified and stored with its thumbnails (``stories.images.store_upload``). The
    lead image row is changed in place (its place in the file's layout is kept); its URL becomes
    our own copy's absolute address, so an export points at it.
    """
    require(actor, EDIT_PERMISSION, "change stories")
    expected = check_version(story, expected_version)
    refuse_unless_moderator(story, actor, ["images"])
    touched = touched_after(story, actor, ["images"])
    baseline = baseline_of(story)
    write_versioned(story, expected=expected, changes={} if touched is None else {"editor_touched": touched})
    copy = store_upload(data)
    lead = (
        Image.objects.select_for_update()
        .filter(story=story, role=Image.Role.LEAD)
        .order_by("position", "id")
        .first()
    )
    before = _image_summary(lead)
    if lead is None:
        lead = Image(story=story, role=Image.Role.LEAD, position=0)
    public_url = settings.SITE_URL + default_storage.url(copy.local_file)
    lead.url = public_url
    lead.width, lead.height = copy.width, copy.height
    lead.is_cached = True
    if title:
        lead.title = title
    for name, value in copy_columns(copy, origin=Image.Origin.UPLOAD, source_url=public_url).items():
        setattr(lead, name, value)
    lead.save()
    forget_prefetched(story)
    audit.record(
        story=story,
        action=AuditEntry.Action.LEAD_IMAGE,
        actor=actor,
        field="images",
        before=before,
        after=_image_summary(lead),
        comment=comment,
    )
    record_revision(story, actor=actor, reason=comment or "New lead image", baseline=baseline)
    return lead


def _image_summary(image: Image | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {
        "url": image.url,
        "local_file": image.local_file.name or "",
        "width": image.local_width or image.width,
        "height": image.local_height or image.height,
        "title": image.title,
    }
