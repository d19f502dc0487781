"""Two revisions of a story, field by field, in words a person reads.

``compare(before, after)`` takes two ``Revision.data`` snapshots (``snapshots.snapshot_of``) and
says what changed: each story field with its label, the topics added, removed or reordered,
the related links matched by URL (added, removed, changed and which fields, moved from one
position to another) and the lead images (the same). Pure: no database, no templates.

A link that only shifts because another was added or removed above it has not moved: a move
is a change of order among the links both revisions have (those outside their longest common
order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stories.models import State
from stories.records import plain, with_editorial
from stories.storyfile import ImageRecord, ProviderRecord, RelatedRecord, StoryRecord, record_from_json

# The story's fields as the comparison shows them: (file key, label, the workflow's field name).
STORY_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("title", "Title", "title"),
    ("excerpt", "Excerpt", "excerpt"),
    ("category", "Category", "category"),
    ("type", "Type", "type"),
    ("publishedDateTime", "Date published", "published_at"),
    ("webUrl", "Web URL", "web_url"),
    ("originalUrl", "Original URL", "original_url"),
    ("ampWebUrl", "AMP URL", "amp_web_url"),
    ("cdnAmpWebUrl", "CDN AMP URL", "cdn_amp_web_url"),
    ("provider", "Provider", "provider"),
    ("featuredContent", "Featured content", "featured_content"),
    ("secured", "Secured", "secured"),
    ("quality", "Quality", "quality"),
    ("heat", "Heat", "heat"),
)
RELATED_FIELDS: tuple[tuple[str, str], ...] = (
    ("title", "Title"),
    ("excerpt", "Excerpt"),
    ("publishedDateTime", "Date published"),
    ("webUrl", "Web URL"),
    ("originalUrl", "Original URL"),
    ("ampWebUrl", "AMP URL"),
    ("cdnAmpWebUrl", "CDN AMP URL"),
    ("type", "Type"),
    ("provider", "Provider"),
    ("quality", "Quality"),
    ("images", "Images"),
)
IMAGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("url", "URL"),
    ("width", "Width"),
    ("height", "Height"),
    ("isCached", "Cached"),
    ("title", "Title"),
)
_URL_KEYS = ("webUrl", "originalUrl", "ampWebUrl", "cdnAmpWebUrl")


@dataclass(frozen=True)
class FieldChange:
    """One value that differs: ``before`` and ``after`` as text ('' when the revision had none)."""

    key: str
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ItemChange:
    """A related link or an image: added, removed, changed (``fields``) and/or moved.

    Positions count from 1; ``before_position`` is None for an added item, ``after_position``
    for a removed one.
    """

    kind: str  # "added", "removed", "changed" or "moved" (a changed item may have moved too)
    url: str
    title: str
    before_position: int | None
    after_position: int | None
    fields: tuple[FieldChange, ...] = ()
    moved: bool = False

    @property
    def label(self) -> str:
        if self.kind == "added":
            return f"Added at position {self.after_position}"
        if self.kind == "removed":
            return f"Removed from position {self.before_position}"
        moved = f"moved from position {self.before_position} to {self.after_position}"
        if self.kind == "moved":
            return moved[0].upper() + moved[1:]
        changed = "Changed: " + ", ".join(change.label.lower() for change in self.fields)
        return f"{changed}; {moved}" if self.moved else changed


@dataclass(frozen=True)
class Comparison:
    """What differs between two revisions of a story (``compare``)."""

    fields: tuple[FieldChange, ...] = ()
    topics_added: tuple[str, ...] = ()
    topics_removed: tuple[str, ...] = ()
    topics_reordered: bool = False
    related: tuple[ItemChange, ...] = ()
    images: tuple[ItemChange, ...] = ()
    workflow_fields: tuple[str, ...] = field(default=(), repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.fields or self.related or self.images)

    def change_of(self, key: str) -> FieldChange | None:
        """The change of one field by its key (``title``, ``state``, ``topics`` ...), or None."""
        return next((change for change in self.fields if change.key == key), None)


def editorial_record(data: dict) -> StoryRecord:
    """The story a revision holds, as an export shows it (its editorial values in the record)."""
    base = record_from_json(data["record"])
    return with_editorial(
        base,
        state=data["state"],
        quality=data.get("quality"),
        heat=data.get("heat"),
        topics=data.get("topics") or (),
        file_published=base.published,
    )


def compare(before: dict | None, after: dict) -> Comparison:
    """What changed from the revision ``before`` (None: nothing, a story's first revision) to ``after``."""
    old = editorial_record(before) if before is not None else StoryRecord()
    new = editorial_record(after)
    changes: list[FieldChange] = []
    touched: list[str] = []
    for key, label, name in STORY_FIELDS:
        change = _field(key, label, old, new)
        if change is not None:
            changes.append(change)
            touched.append(name)
    state = _field_values("state", "State", _state(before), _state(after))
    if state is not None:
        changes.append(state)
        touched.append("published")
    old_topics = tuple(before.get("topics") or ()) if before is not None else ()
    new_topics = tuple(after.get("topics") or ())
    topics = _field_values("topics", "Topics", ", ".join(old_topics), ", ".join(new_topics))
    if topics is not None:
        changes.append(topics)
        touched.append("topics")
    body = _field_values("body", "Body", old.body, new.body)
    if body is not None:
        changes.append(body)
        touched.append("body")
    changes.extend(_extra_changes(old, new))
    related = _items(old.related or (), new.related or (), RELATED_FIELDS)
    images = _items(old.images or (), new.images or (), IMAGE_FIELDS)
    touched += ["related"] * bool(related) + ["images"] * bool(images)
    return Comparison(
        fields=tuple(changes),
        topics_added=tuple(t for t in new_topics if t not in old_topics),
        topics_removed=tuple(t for t in old_topics if t not in new_topics),
        topics_reordered=_reordered(old_topics, new_topics),
        related=related,
        images=images,
        workflow_fields=tuple(dict.fromkeys(touched)),
    )


def _state(data: dict | None) -> str:
    if data is None:
        return ""
    value = data["state"]
    return State(value).label if value in State.values else str(value)


def text(value: Any) -> str:
    """A record's value as a person reads it ('' for none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, ProviderRecord):
        name = value.name or ""
        shown = f"{name} ({value.domain})" if value.domain else name
        logos = ", ".join(image.url or "" for image in value.images or ())
        return f"{shown}; logo {logos}" if logos else shown
    if isinstance(value, tuple | list):
        return ", ".join(item.url or "" if isinstance(item, ImageRecord) else text(item) for item in value)
    if isinstance(value, dict):
        return str(plain(value))
    return str(value)


def _field_values(key: str, label: str, before: str, after: str) -> FieldChange | None:
    return None if before == after else FieldChange(key=key, label=label, before=before, after=after)


def _field(key: str, label: str, old, new) -> FieldChange | None:
    return _field_values(key, label, text(old.get(key)), text(new.get(key)))


def _extra_changes(old: StoryRecord, new: StoryRecord) -> list[FieldChange]:
    """Keys of the file the format does not know (kept as they came)."""
    keys = dict.fromkeys([*old.extra, *new.extra])
    changes = (
        _field_values(key, f"Other key “{key}”", text(old.extra.get(key)), text(new.extra.get(key)))
        for key in keys
    )
    return [change for change in changes if change is not None]


def _reordered(old: Sequence[str], new: Sequence[str]) -> bool:
    common = set(old) & set(new)
    return [t for t in old if t in common] != [t for t in new if t in common]


def _url(item: RelatedRecord | ImageRecord) -> str:
    if isinstance(item, ImageRecord):
        return item.url or ""
    return next((item.get(key) for key in _URL_KEYS if item.get(key)), "")


def _keys(items: Sequence[RelatedRecord | ImageRecord]) -> list[tuple[str, int]]:
    """Each item's identity: its URL, and which of the items with that URL it is."""
    seen: dict[str, int] = {}
    keys = []
    for item in items:
        url = _url(item)
        seen[url] = seen.get(url, 0) + 1
        keys.append((url, seen[url]))
    return keys


def _longest_common_order(old: list, new: list) -> set:
    """The keys of the longest sequence both lists hold in the same order."""
    lengths = [[0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i in range(len(old) - 1, -1, -1):
        for j in range(len(new) - 1, -1, -1):
            lengths[i][j] = (
                lengths[i + 1][j + 1] + 1 if old[i] == new[j] else max(lengths[i + 1][j], lengths[i][j + 1])
            )
    kept, i, j = set(), 0, 0
    while i < len(old) and j < len(new):
        if old[i] == new[j]:
            kept.add(old[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def _title(item: RelatedRecord | ImageRecord) -> str:
    return item.title or ""


def _items(old: Sequence, new: Sequence, fields: tuple[tuple[str, str], ...]) -> tuple[ItemChange, ...]:
    """Related links or images, matched by URL, in the order of ``after`` (removed ones last)."""
    old_keys, new_keys = _keys(old), _keys(new)
    old_at = {key: index for index, key in enumerate(old_keys)}
    common = [key for key in new_keys if key in old_at]
    in_order = _longest_common_order([key for key in old_keys if key in set(common)], common)
    result = []
    for index, key in enumerate(new_keys):
        item = new[index]
        if key not in old_at:
            result.append(ItemChange("added", key[0], _title(item), None, index + 1))
            continue
        before = old[old_at[key]]
        changed = tuple(c for c in (_field(k, label, before, item) for k, label in fields) if c is not None)
        moved = key not in in_order
        if changed or moved:
            kind = "changed" if changed else "moved"
            result.append(ItemChange(kind, key[0], _title(item), old_at[key] + 1, index + 1, changed, moved))
    new_set = set(new_keys)
    result += [
        ItemChange("removed", key[0], _title(old[index]), index + 1, None)
        for index, key in enumerate(old_keys)
        if key not in new_set
    ]
    return tuple(result)
