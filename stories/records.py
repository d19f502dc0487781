"""The rows of a stored story as the story file they came from, and what a reconcile needs of them.

``base_record`` gives the story's source record as stored (editorial fields as the file
last gave them), ``with_editorial`` the same with the story's current editorial values
(what an export shows), ``stored_story`` the snapshot ``reconcile`` decides on. Pure: use
stories from ``stories_with_rows()`` and nothing here queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Prefetch

from providers.models import Provider
from stories.models import (
    RELATED_FILE_COLUMNS,
    STORY_FILE_COLUMNS,
    Image,
    RelatedLink,
    State,
    Story,
    StoryTopic,
)
from stories.storyfile import (
    DEFAULT_BLANK_BEFORE,
    ImageRecord,
    ProviderRecord,
    RelatedRecord,
    StoryRecord,
    decode_value,
    encode_value,
    with_key,
)


def stories_with_rows():
    """Stories with every row their records are made of, in a fixed number of queries."""
    images = Image.objects.order_by("position", "id")
    topics = StoryTopic.objects.select_related("topic").order_by("position", "id")
    return Story.objects.select_related("provider").prefetch_related(
        Prefetch("story_topics", queryset=topics),
        Prefetch("images", queryset=images),
        Prefetch(
            "related_links",
            queryset=RelatedLink.objects.select_related("provider")
            .prefetch_related(Prefetch("images", queryset=images))
            .order_by("position", "id"),
        ),
    )


def _in_tz(value: dt.datetime | None, minutes: int) -> dt.datetime | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))


def _is_empty(value: Any) -> bool:
    return value is not None and (value == "" or value == ())


def absent_as_none(record):
    """``record`` with None for each key the file did not have, as the parser gives it.

    The database keeps an absent text as '' and an absent list as no rows; without
    this a record rebuilt from the rows would never equal the parsed file's.
    """
    present = set(record.keys)
    changes = {
        attr: None
        for key, attr in record.FIELDS.items()
        if key not in present and _is_empty(getattr(record, attr))
    }
    return replace(record, **changes) if changes else record


_KEY_FOR: dict[tuple[type, str], str] = {}


def key_for(cls, attr: str) -> str:
    """The file key of a record type's attribute (``published_at`` → ``publishedDateTime``)."""
    try:
        return _KEY_FOR[(cls, attr)]
    except KeyError:
        key = _KEY_FOR[(cls, attr)] = next(k for k, a in cls.FIELDS.items() if a == attr)
        return key


def _common(layout: dict, row) -> dict[str, Any]:
    return {
        "extra": {k: decode_value(v) for k, v in (row.extra or {}).items()},
        "styles": tuple(tuple(p) for p in layout.get("styles", ())),
    }


def _columns(row, record_type, columns: Sequence[str], layout: dict) -> dict[str, Any]:
    """The row's columns as record values: '' back to None where the file had ``null``."""
    absent = set(layout.get("nulls", ()))
    values = {}
    for column in columns:
        value = getattr(row, column)
        values[column] = None if key_for(record_type, column) in absent and value in ("", None) else value
    values["published_at"] = _in_tz(values["published_at"], layout.get("tz", 0))
    return values


def _image_record(row: Image) -> ImageRecord:
    layout = row.layout or {}
    keys = layout.get("keys")
    if keys is None:
        keys = ["url", "width", "height", "isCached"] + (["title"] if row.title is not None else [])
    absent = set(layout.get("nulls", ()))
    return absent_as_none(
        ImageRecord(
            keys=tuple(keys),
            **_common(layout, row),
            url=None if ("url" in absent and not row.url) else row.url,
            width=row.width,
            height=row.height,
            is_cached=row.is_cached,
            title=row.title,
        )
    )


def _images(rows: Sequence[Image], layout: dict, key: str = "images") -> tuple[ImageRecord, ...] | None:
    if not rows and key in layout.get("nulls", ()):
        return None
    return tuple(_image_record(row) for row in rows)


def _provider_record(
    layout: dict | None, *, name: str, provider: Provider | None, images: list[Image]
) -> ProviderRecord | None:
    if layout is None and provider is None:
        return None
    layout = layout or {}
    keys = layout.get("keys") or (["name", "domain"] + (["images"] if images else []))
    domain = provider.domain if provider is not None else ""
    if layout.get("domain") and (provider is None or layout["domain"].lower() == domain.lower()):
        domain = layout["domain"]
    return absent_as_none(
        ProviderRecord(
            keys=tuple(keys),
            extra={k: decode_value(v) for k, v in layout.get("extra", {}).items()},
            styles=tuple(tuple(p) for p in layout.get("styles", ())),
            name=name or (provider.name if provider is not None else ""),
            domain=domain,
            images=_images(images, layout),
        )
    )


_RELATED_DEFAULT_KEYS = ("title", "excerpt", "published_at", "type", "quality", "provider")
_URLS = ("web_url", "original_url", "amp_web_url", "cdn_amp_web_url")


def _related_record(row: RelatedLink) -> RelatedRecord:
    layout = row.layout or {}
    images = [i for i in row.images.all() if i.role == Image.Role.RELATED]
    logos = [i for i in row.images.all() if i.role == Image.Role.PROVIDER]
    keys = layout.get("keys")
    if keys is None:
        keys = [
            k
            for k, attr in RelatedRecord.FIELDS.items()
            if attr in _RELATED_DEFAULT_KEYS
            or (attr in _URLS and getattr(row, attr))
            or (attr == "images" and images)
        ]
    provider = _provider_record(
        layout.get("provider"), name=row.provider_name, provider=row.provider, images=logos
    )
    return absent_as_none(
        RelatedRecord(
            keys=tuple(keys),
            **_common(layout, row),
            provider=None if "provider" in layout.get("nulls", ()) else provider,
            images=_images(images, layout),
            **_columns(row, RelatedRecord, RELATED_FILE_COLUMNS, layout),
        )
    )


def _default_keys(story: Story, *, lead: bool, related: bool) -> list[str]:
    """The keys of a story that did not come from a file."""
    keys = ["category", "title", "excerpt", "publishedDateTime"]
    keys += [key_for(StoryRecord, attr) for attr in _URLS if getattr(story, attr)]
    keys += ["type", "quality", "heat", "published"]
    keys += ["featuredContent"] if story.featured_content else []
    keys += ["provider", "topics"] + (["images"] if lead else []) + (["related"] if related else [])
    return keys + ["secured"]


def base_record(story: Story) -> StoryRecord:
    """The story's source record as stored (editorial fields as the file last gave them)."""
    layout = story.layout or {}
    lead = story.lead_images()
    logos = [i for i in story.images.all() if i.role == Image.Role.PROVIDER]
    related = list(story.related_links.all())
    keys = layout.get("keys")
    if keys is None:
        keys = _default_keys(story, lead=bool(lead), related=bool(related))
    values = _columns(story, StoryRecord, STORY_FILE_COLUMNS, layout)
    names = story.topic_names()
    raw = layout.get("topics_raw")
    topics: tuple[str, ...] | None = tuple(raw) if raw and list(dict.fromkeys(raw)) == names else tuple(names)
    if not names and "topics" in layout.get("nulls", ()):
        topics = None
    record = absent_as_none(
        StoryRecord(
            keys=tuple(keys),
            **_common(layout, story),
            newline=layout.get("newline", "\n"),
            body=story.body,
            blank_before=tuple(layout["blank_before"]) if "blank_before" in layout else DEFAULT_BLANK_BEFORE,
            provider=_provider_record(
                layout.get("provider"), name=story.provider_name, provider=story.provider, images=logos
            ),
            topics=topics,
            images=_images(lead, layout),
            related=None
            if (not related and "related" in layout.get("nulls", ()))
            else tuple(_related_record(r) for r in related),
            published=story.file_published,
            **values,
        )
    )
    # A value a person gave a key the file did not have belongs in the record too (quality and
    # heat are shown by ``with_editorial``).
    for column in STORY_FILE_COLUMNS:
        key = key_for(StoryRecord, column)
        if column not in ("quality", "heat") and values[column] not in ("", None) and key not in keys:
            record = with_key(record, key)
    return record


def with_editorial(
    record: StoryRecord,
    *,
    state: str,
    quality: int | None,
    heat: int | None,
    topics: Sequence[str],
    file_published: bool | None,
) -> StoryRecord:
    """The record with the editorial fields showing a story's values (what an export shows)."""
    changes: dict[str, Any] = {}
    if record.has("published"):
        published = state == State.PUBLISHED
        changes["published"] = True if published else (None if file_published is None else False)
    elif state == State.PUBLISHED:
        record = with_key(record, "published")
        changes["published"] = True
    for key, value in (("quality", quality), ("heat", heat)):
        if record.has(key):
            changes[key] = value
        elif value is not None:
            record = with_key(record, key)
            changes[key] = value
    names = tuple(topics)
    if record.has("topics"):
        changes["topics"] = names if (names or record.topics is not None) else None
    elif names:
        record = with_key(record, "topics")
        changes["topics"] = names
    return replace(record, **changes)


def _current(story: Story, base: StoryRecord) -> StoryRecord:
    return with_editorial(
        base,
        state=story.state,
        quality=story.quality,
        heat=story.heat,
        topics=base.topics or (),
        file_published=story.file_published,
    )


def record_from_story(story: Story) -> StoryRecord:
    """The story as a record, editorial fields showing their current values.

    Use a story from ``stories_with_rows()`` to avoid a query per relation.
    """
    return _current(story, base_record(story))


@dataclass(frozen=True)
class StoredStory:
    """What a reconcile needs of a stored story, read once from its rows."""

    id: int
    title: str
    state: str
    expire_at: dt.datetime | None
    quality: int | None
    heat: int | None
    editor_touched: tuple[str, ...]
    lead_image_uploaded: bool
    file_published: bool | None
    source_hash: str
    superseded_hashes: tuple[str, ...]
    base: StoryRecord  # the source record as stored
    current: StoryRecord  # the same with the editorial values: what an export shows

    @property
    def touched(self) -> frozenset[str]:
        """The fields a person decided; a lead image an editor uploaded counts as ``images``
        (uploads from before they were recorded in ``editor_touched`` too)."""
        return frozenset(self.editor_touched) | ({"images"} if self.lead_image_uploaded else frozenset())


def stored_story(story: Story) -> StoredStory:
    """The snapshot of ``story`` (from ``stories_with_rows()``) that ``reconcile`` decides on."""
    base = base_record(story)
    return StoredStory(
        id=story.pk,
        title=story.title,
        state=story.state,
        expire_at=story.expire_at,
        quality=story.quality,
        heat=story.heat,
        editor_touched=tuple(story.editor_touched or ()),
        lead_image_uploaded=any(image.origin == Image.Origin.UPLOAD for image in story.lead_images()),
        file_published=story.file_published,
        source_hash=story.source_hash,
        superseded_hashes=tuple(story.superseded_hashes or ()),
        base=base,
        current=_current(story, base),
    )


def plain(value: Any) -> Any:
    """A record's value as JSON-safe data (for reports, previews and audit entries)."""
    if isinstance(value, ImageRecord | ProviderRecord | RelatedRecord):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return encode_value(value) if isinstance(value, dict | float | dt.date) else value


def changes_between(before: StoryRecord | None, after: StoryRecord) -> dict[str, tuple[Any, Any]]:
    """Field-by-field differences, JSON-safe, keyed by the file's key names."""
    result: dict[str, tuple[Any, Any]] = {}
    keys = list(dict.fromkeys([*(before.keys if before else ()), *after.keys]))
    for key in keys:
        old = plain(before.get(key)) if before is not None and before.has(key) else None
        new = plain(after.get(key)) if after.has(key) else None
        if before is None or old != new or before.has(key) != after.has(key):
            result[key] = (old, new)
    return result
