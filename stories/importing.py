"""Importing story files: the import service, and the mapping between records and rows.

``import_stories()`` takes story sources (files, directories, standard input),
parses each with ``stories.storyfile`` and creates or updates the story it
identifies (``storyfile.identity_key_for``). Each file is atomic; a bad file
is reported and the batch goes on. Every non-dry run is recorded as an
``ImportRun`` with one ``ImportRunStory`` per story it touched, holding the
story's previous source record so that the run can be undone
(``restore_story``). Unchanged files get no row (the run touched nothing; its
``unchanged`` count says how many there were), which keeps a re-import cheap.

Decisions:

* Dry runs write nothing at all: the whole run happens in a transaction that is
  rolled back, so no ``ImportRun`` is kept and ``ImportReport.run`` is ``None``.
* Unchanged files are recognised by ``Story.source_hash`` (sha256 of the file's
  bytes), looked up for a whole chunk of files in one query, without parsing.
  A story with editor-touched fields is always parsed, so a file that disagrees
  with the editor is reported as a conflict every time it is imported.
* What a file may change on an existing story is one pure decision
  (``_plan_update``): a field a person changed (``editor_touched``: content,
  provider, related links, images, topics, quality, heat, published; a lead image
  an editor uploaded counts as ``images``) keeps the person's value, with a
  conflict, unless ``overwrite_editorial``; on a published story, what
  ``workflow.held_for_moderator`` holds for the importing person keeps the story's
  value, with a conflict, always. A held file's hash is not recorded, so that a
  moderator's import or the command applies it later.
* ``published`` in a file moves the workflow state only when it flips against
  the file's previous value (kept in ``Story.file_published``): a re-import of the same
  file never undoes a moderator's decision. The move is a workflow transition
  (``workflow.apply_import_state``, audited against the run under the person who
  imported the file); quality, heat and topics of an existing story change through
  ``workflow.update_editorial`` the same way. Neither is an editorial decision.
  Creating a story sets its first state directly: that is creation, not a transition.
* Any error while writing one story fails that file only (its savepoint is rolled
  back); the bulk path for new stories falls back to one by one. A run stopped by
  Ctrl-C is recorded as ``interrupted``, one stopped by an unexpected error as
  ``crashed`` (``ImportCrashed``), each with its counts so far.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import F, Prefetch
from django.utils import timezone
from django.utils.text import slugify

from providers.models import Provider

from . import audit, workflow
from .images import cache_images_for_stories
from .models import (
    AuditEntry,
    Image,
    ImportRun,
    ImportRunStory,
    RelatedLink,
    State,
    Story,
    StoryTopic,
    Topic,
)
from .storyfile import (
    DEFAULT_BLANK_BEFORE,
    ImageRecord,
    ProviderRecord,
    RelatedRecord,
    StoryFileError,
    StoryRecord,
    decode_value,
    dump_story,
    encode_value,
    identity_key_for,
    parse_story,
    record_from_json,
    record_to_json,
    with_key,
)

__all__ = [
    "FileResult",
    "ImportCrashed",
    "ImportReport",
    "StorySource",
    "export_filename",
    "export_story",
    "import_stories",
    "iter_story_sources",
    "record_from_story",
    "restore_story",
    "stories_for_export",
]

STORY_SUFFIXES = (".md", ".markdown", ".txt", ".yaml", ".yml")
CHUNK_FILES = 250
CHUNK_BYTES = 8 * 1024 * 1024

CREATED, UPDATED, UNCHANGED, CONFLICT, FAILED = "created", "updated", "unchanged", "conflict", "failed"

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class StorySource:
    """One story file to import; ``read()`` opens it only when called."""

    path: str
    opener: Callable[[], bytes] = field(repr=False, compare=False)

    def read(self) -> bytes:
        return self.opener()

    def digest(self, data: bytes) -> str:
        """sha256 of ``data`` in hex (a subclass may have computed it already)."""
        return hashlib.sha256(data).hexdigest()

    def parse(self, data: bytes) -> tuple[StoryRecord, str]:
        """The record and identity key of ``data`` (a subclass may parse ahead in another process)."""
        record = parse_story(data, path=self.path)
        return record, identity_key_for(record)


def _limit() -> int:
    return int(settings.NEWSROOM_MAX_STORY_FILE_BYTES)


def _file_opener(path: str, limit: int | None = None) -> Callable[[], bytes]:
    def read() -> bytes:
        # One byte past the limit is enough for the parser to refuse an oversized file.
        with open(path, "rb") as handle:
            return handle.read((limit if limit is not None else _limit()) + 1)

    return read


def _stream_opener(stream: BinaryIO) -> Callable[[], bytes]:
    def read() -> bytes:
        data = stream.read(_limit() + 1)
        return data.encode("utf-8") if isinstance(data, str) else data

    return read


# Documentation that lives beside story files in a directory; given by name, they are still imported.
NOT_STORIES = {"readme", "changelog", "license", "licence", "contributing", "manifest", "survey", "notes"}


def is_story_file(name: str) -> bool:
    """Whether a directory walk picks up ``name``: a story suffix, not hidden, not a README or the like."""
    base = os.path.basename(name)
    stem = base.rsplit(".", 1)[0].lower()
    return base.lower().endswith(STORY_SUFFIXES) and not base.startswith(".") and stem not in NOT_STORIES


def iter_story_sources(paths: Iterable[str], *, stdin: BinaryIO | None = None) -> Iterator[StorySource]:
    """Files as given, directories recursively (sorted, story files only), ``-`` for standard input.

    Raises FileNotFoundError for a path that does not exist.
    """
    for path in paths:
        if path == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            yield StorySource(path="-", opener=_stream_opener(stream))
        elif os.path.isdir(path):
            found = []
            for root, dirnames, filenames in os.walk(path):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                found += [os.path.join(root, name) for name in filenames if is_story_file(name)]
            # Paths only (small); the files themselves are read one at a time.
            limit = _limit()
            for full in sorted(found):
                yield StorySource(path=full, opener=_file_opener(full, limit))
        elif os.path.isfile(path):
            yield StorySource(path=path, opener=_file_opener(path))
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")


# --------------------------------------------------------------------------- results


@dataclass
class FileResult:
    path: str
    outcome: str
    story_id: int | None = None
    reason: str = ""
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    title: str = ""
    held: list[str] = field(default_factory=list)  # those conflicts held for a moderator


@dataclass
class ImportReport:
    run: ImportRun | None
    counts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "conflicts": 0, "failed": 0}
    )
    results: list[FileResult] = field(default_factory=list)
    dry_run: bool = False
    keep_results: bool = True
    failure_rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def failures(self) -> list[FileResult]:
        return [r for r in self.results if r.outcome == FAILED]

    def summary(self) -> str:
        c = self.counts
        return (
            f"created {c['created']}, updated {c['updated']}, unchanged {c['unchanged']}, "
            f"conflicts {c['conflicts']}, failed {c['failed']}"
        )


_COUNT_FOR = {
    CREATED: "created",
    UPDATED: "updated",
    UNCHANGED: "unchanged",
    CONFLICT: "conflicts",
    FAILED: "failed",
}


# --------------------------------------------------------------------------- records <-> rows


def _tz_minutes(value: dt.datetime | None) -> int:
    if value is None or value.utcoffset() is None:
        return 0
    return int(value.utcoffset().total_seconds() // 60)


def _in_tz(value: dt.datetime | None, minutes: int) -> dt.datetime | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))


def _nulls(record) -> list[str]:
    # Same as ``[k for k, v in record.items() if v is None]``, without a call per key: hot on import.
    fields, extra = record.FIELDS, record.extra
    return [
        key
        for key in record.keys
        if (getattr(record, fields[key]) if key in fields else extra.get(key)) is None
    ]


def _record_layout(record, **more) -> dict:
    layout: dict[str, Any] = {"keys": list(record.keys)}
    if record.styles:
        layout["styles"] = [list(pair) for pair in record.styles]
    nulls = _nulls(record)
    if nulls:
        layout["nulls"] = nulls
    layout.update({k: v for k, v in more.items() if v is not None and v != [] and v != {} and v != 0})
    return layout


def _extra(record) -> dict:
    return {key: encode_value(value) for key, value in record.extra.items()}


def _text(value: str | None) -> str:
    return "" if value is None else value


def _provider_layout(provider: ProviderRecord | None, db_domain: str | None) -> dict | None:
    if provider is None:
        return None
    layout = _record_layout(provider)
    if provider.extra:
        layout["extra"] = _extra(provider)
    if provider.domain and provider.domain != db_domain:
        layout["domain"] = provider.domain
    return layout


def _image_values(image: ImageRecord, *, role: str, position: int) -> dict[str, Any]:
    """The Image columns for one image of a file, without its owner."""
    return {
        "role": role,
        "position": position,
        "url": _text(image.url),
        "width": image.width,
        "height": image.height,
        "is_cached": image.is_cached,
        "title": image.title,
        "layout": _record_layout(image),
        "extra": _extra(image),
    }


def _image_rows(images: Sequence[ImageRecord] | None, *, role: str, **owner) -> list[Image]:
    return [
        Image(**_image_values(image, role=role, position=position), **owner)
        for position, image in enumerate(images or ())
    ]


def _image_record(row: Image) -> ImageRecord:
    layout = row.layout or {}
    keys = layout.get("keys")
    if keys is None:
        keys = ["url", "width", "height", "isCached"] + (["title"] if row.title is not None else [])
    nulls = set(layout.get("nulls", ()))
    return _absent_as_none(
        ImageRecord(
            keys=tuple(keys),
            extra={k: decode_value(v) for k, v in (row.extra or {}).items()},
            styles=tuple(tuple(p) for p in layout.get("styles", ())),
            url=None if ("url" in nulls and not row.url) else row.url,
            width=row.width,
            height=row.height,
            is_cached=row.is_cached,
            title=row.title,
        )
    )


def _provider_record(
    layout: dict | None, *, name: str, provider: Provider | None, images: list[Image]
) -> ProviderRecord | None:
    if layout is None and provider is None:
        return None
    layout = layout or {}
    keys = layout.get("keys") or (["name", "domain"] + (["images"] if images else []))
    nulls = set(layout.get("nulls", ()))
    domain = provider.domain if provider is not None else ""
    if layout.get("domain") and (provider is None or layout["domain"].lower() == domain.lower()):
        domain = layout["domain"]
    image_records: tuple[ImageRecord, ...] | None = tuple(_image_record(i) for i in images)
    if not images and "images" in nulls:
        image_records = None
    return _absent_as_none(
        ProviderRecord(
            keys=tuple(keys),
            extra={k: decode_value(v) for k, v in layout.get("extra", {}).items()},
            styles=tuple(tuple(p) for p in layout.get("styles", ())),
            name=name or (provider.name if provider is not None else ""),
            domain=domain,
            images=image_records,
        )
    )


def _absent_as_none(record):
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


def _is_empty(value: Any) -> bool:
    return value is not None and (value == "" or value == ())


# Record attributes stored in columns of the same name: a related link has a
# subset of a story's.
_RELATED_COLUMNS = (
    "title",
    "excerpt",
    "published_at",
    "web_url",
    "original_url",
    "amp_web_url",
    "cdn_amp_web_url",
    "type",
    "quality",
)
_STORY_COLUMNS = (*_RELATED_COLUMNS, "category", "heat", "featured_content", "secured")
_TEXT_COLUMNS = {"category", "title", "excerpt", "type", "featured_content", "secured"}
_RELATED_TEXT = {"title", "excerpt", "type"}


def _story_values(record: StoryRecord) -> dict[str, Any]:
    values = {}
    for column in _STORY_COLUMNS:
        value = getattr(record, column)
        values[column] = _text(value) if column in _TEXT_COLUMNS else value
    values["body"] = record.body
    values["provider_name"] = record.provider.name if record.provider is not None else ""
    return values


def _story_layout(record: StoryRecord, provider: Provider | None) -> dict:
    topics = list(record.topics or ())
    return (
        _record_layout(
            record,
            newline=record.newline if record.newline != "\n" else None,
            blank_before=list(record.blank_before),
            tz=_tz_minutes(record.published_at),
            provider=_provider_layout(record.provider, provider.domain if provider else None),
            topics_raw=topics if len(set(topics)) != len(topics) else None,
        )
        | {"blank_before": list(record.blank_before)}
    )


def _file_published(record: StoryRecord) -> bool | None:
    return record.published if record.has("published") else None


def _related_values(
    story_id: int | None, position: int, record: RelatedRecord, provider: Provider | None
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in _RELATED_COLUMNS:
        value = getattr(record, column)
        values[column] = _text(value) if column in _RELATED_TEXT else value
    values.update(
        story=story_id,
        position=position,
        provider=provider.pk if provider is not None else None,
        provider_name=record.provider.name if record.provider is not None else "",
        layout=_record_layout(
            record,
            tz=_tz_minutes(record.published_at),
            provider=_provider_layout(record.provider, provider.domain if provider else None),
        ),
        extra=_extra(record),
    )
    return values


def _related_row(
    story: Story, position: int, record: RelatedRecord, provider: Provider | None
) -> RelatedLink:
    values = _related_values(story.pk, position, record, provider)
    values["story_id"], values["provider_id"] = values.pop("story"), values.pop("provider")
    return RelatedLink(**values)


def _related_record(row: RelatedLink) -> RelatedRecord:
    layout = row.layout or {}
    nulls = set(layout.get("nulls", ()))
    images = [i for i in row.images.all() if i.role == Image.Role.RELATED]
    provider_images = [i for i in row.images.all() if i.role == Image.Role.PROVIDER]
    keys = layout.get("keys")
    if keys is None:
        keys = [
            k
            for k, attr in RelatedRecord.FIELDS.items()
            if attr in ("title", "excerpt", "published_at", "type", "quality", "provider")
            or (attr in ("web_url", "original_url", "amp_web_url", "cdn_amp_web_url") and getattr(row, attr))
            or (attr == "images" and images)
        ]
    values: dict[str, Any] = {}
    for column in _RELATED_COLUMNS:
        value = getattr(row, column)
        key = _key_for(RelatedRecord, column)
        if key in nulls and value in ("", None):
            value = None
        values[column] = value
    values["published_at"] = _in_tz(values["published_at"], layout.get("tz", 0))
    provider = _provider_record(
        layout.get("provider"), name=row.provider_name, provider=row.provider, images=provider_images
    )
    if "provider" in nulls:
        provider = None
    image_records = tuple(_image_record(i) for i in images)
    return _absent_as_none(
        RelatedRecord(
            keys=tuple(keys),
            extra={k: decode_value(v) for k, v in (row.extra or {}).items()},
            styles=tuple(tuple(p) for p in layout.get("styles", ())),
            provider=provider,
            images=None if (not images and "images" in nulls) else image_records,
            **values,
        )
    )


_KEY_FOR: dict[tuple[type, str], str] = {}


def _key_for(cls, attr: str) -> str:
    try:
        return _KEY_FOR[(cls, attr)]
    except KeyError:
        key = next(k for k, a in cls.FIELDS.items() if a == attr)
        _KEY_FOR[(cls, attr)] = key
        return key


def _published_value(state: str, file_value: bool | None) -> bool | None:
    if state == State.PUBLISHED:
        return True
    return None if file_value is None else False


def _apply_editorial(
    record: StoryRecord,
    *,
    state: str,
    quality: int | None,
    heat: int | None,
    topics: Sequence[str],
    file_published: bool | None,
) -> StoryRecord:
    """The record with the editorial fields showing the story's current values."""
    changes: dict[str, Any] = {}
    if record.has("published"):
        changes["published"] = _published_value(state, file_published)
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


def _story_queryset():
    return Story.objects.select_related("provider").prefetch_related(
        Prefetch(
            "story_topics", queryset=StoryTopic.objects.select_related("topic").order_by("position", "id")
        ),
        Prefetch("images", queryset=Image.objects.order_by("position", "id")),
        Prefetch(
            "related_links",
            queryset=RelatedLink.objects.select_related("provider")
            .prefetch_related(Prefetch("images", queryset=Image.objects.order_by("position", "id")))
            .order_by("position", "id"),
        ),
    )


def stories_for_export():
    """Stories with everything ``record_from_story`` reads, in a fixed number of queries."""
    return _story_queryset()


def _topic_names(story: Story) -> list[str]:
    return [st.topic.name for st in story.story_topics.all()]


def _base_record(story: Story) -> StoryRecord:
    """The story's source record as stored (editorial fields as the file last gave them)."""
    layout = story.layout or {}
    nulls = set(layout.get("nulls", ()))
    lead = [i for i in story.images.all() if i.role == Image.Role.LEAD and i.related_link_id is None]
    provider_images = [i for i in story.images.all() if i.role == Image.Role.PROVIDER]
    related = list(story.related_links.all())
    keys = layout.get("keys")
    if keys is None:  # a story that did not come from a file
        keys = ["category", "title", "excerpt", "publishedDateTime"]
        keys += [
            k
            for k in ("webUrl", "originalUrl", "ampWebUrl", "cdnAmpWebUrl")
            if getattr(story, StoryRecord.FIELDS[k])
        ]
        keys += ["type", "quality", "heat", "published"]
        keys += ["featuredContent"] if story.featured_content else []
        keys += ["provider", "topics"] + (["images"] if lead else []) + (["related"] if related else [])
        keys += ["secured"]
    values: dict[str, Any] = {}
    for column in _STORY_COLUMNS:
        value = getattr(story, column)
        if _key_for(StoryRecord, column) in nulls and value in ("", None):
            value = None
        values[column] = value
    values["published_at"] = _in_tz(values["published_at"], layout.get("tz", 0))
    provider = _provider_record(
        layout.get("provider"), name=story.provider_name, provider=story.provider, images=provider_images
    )
    names = _topic_names(story)
    raw = layout.get("topics_raw")
    topics: tuple[str, ...] | None = tuple(raw) if raw and list(dict.fromkeys(raw)) == names else tuple(names)
    if not names and "topics" in nulls:
        topics = None
    # A value a person gave a key the file did not have belongs in the record too.
    added = [
        key
        for column in _STORY_COLUMNS
        if column not in ("quality", "heat")  # shown by _apply_editorial
        and values[column] not in ("", None)
        and (key := _key_for(StoryRecord, column)) not in keys
    ]
    record = _absent_as_none(
        StoryRecord(
            keys=tuple(keys),
            extra={k: decode_value(v) for k, v in (story.extra or {}).items()},
            styles=tuple(tuple(p) for p in layout.get("styles", ())),
            newline=layout.get("newline", "\n"),
            body=story.body,
            blank_before=tuple(layout["blank_before"]) if "blank_before" in layout else DEFAULT_BLANK_BEFORE,
            provider=provider,
            topics=topics,
            images=None if (not lead and "images" in nulls) else tuple(_image_record(i) for i in lead),
            related=None
            if (not related and "related" in nulls)
            else tuple(_related_record(r) for r in related),
            published=story.file_published,
            **{k: v for k, v in values.items() if k not in ("published",)},
        )
    )
    for key in added:
        record = with_key(record, key)
    return record


def record_from_story(story: Story) -> StoryRecord:
    """The story as a record, editorial fields showing their current values.

    Use a story from ``stories_for_export()`` to avoid a query per relation.
    """
    base = _base_record(story)
    return _apply_editorial(
        base,
        state=story.state,
        quality=story.quality,
        heat=story.heat,
        topics=_topics_of(base, story),
        file_published=story.file_published,
    )


def _topics_of(base: StoryRecord, story: Story) -> Sequence[str]:
    return base.topics if base.topics is not None else ()


def export_story(story: Story) -> str:
    """The story file's text for ``story``."""
    return dump_story(record_from_story(story))


# --------------------------------------------------------------------------- the import


def _changes(before: StoryRecord | None, after: StoryRecord) -> dict[str, tuple[Any, Any]]:
    """Field-by-field differences, JSON-safe, keyed by the file's key names."""
    result: dict[str, tuple[Any, Any]] = {}
    keys = list(dict.fromkeys([*(before.keys if before else ()), *after.keys]))
    for key in keys:
        old = _plain(before.get(key)) if before is not None and before.has(key) else None
        new = _plain(after.get(key)) if after.has(key) else None
        if before is None or old != new or before.has(key) != after.has(key):
            result[key] = (old, new)
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, ImageRecord | ProviderRecord | RelatedRecord):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return encode_value(value) if isinstance(value, dict | float | dt.date) else value


# --------------------------------------------------------------------------- what a file may change

# The parts of a story file whose value is the file's unless a person decided otherwise, by
# file key, with the story fields (``editor_touched``, ``workflow.READER_FIELDS``) each stands for.
_SOURCE_PARTS: dict[str, tuple[str, ...]] = {
    key: (attr, "provider_name") if attr == "provider" else (attr,)
    for key, attr in StoryRecord.FIELDS.items()
    if attr in workflow.CONTENT_FIELDS or attr in ("images", "related")
} | {"body": ("body",)}
_KEY_FIELDS = _SOURCE_PARTS | {name: (name,) for name in ("quality", "heat", "topics", "published")}

HELD_COMMENT = (
    "Held for a moderator: the story is published, and only a moderator can change what readers "
    "see. The story kept its value; the file's is reported as a conflict."
)


def _part_value(record: StoryRecord, part: str) -> tuple[bool, Any]:
    """Whether the file has ``part``, and its value (the body is always there)."""
    if part == "body":
        return True, record.body
    return record.has(part), record.get(part)


def _take_part(record: StoryRecord, source: StoryRecord, part: str) -> StoryRecord:
    """``record`` with ``part`` as ``source`` has it (present with its value, or absent)."""
    if part == "body":
        return replace(record, body=source.body)
    attr = StoryRecord.FIELDS[part]
    if source.has(part):
        return with_key(record, part, **{attr: getattr(source, attr)})
    return replace(record, keys=tuple(k for k in record.keys if k != part), **{attr: None})


@dataclass(frozen=True)
class _UpdatePlan:
    stored: StoryRecord  # the file's record, with the parts it may not change as the story has them
    state: str  # the state the story moves to (its own: no move)
    kept: dict[str, Any]  # quality, heat or topics kept against the file
    conflicts: tuple[str, ...]  # file keys reported as conflicts
    held: tuple[str, ...]  # those of them held for a moderator
    released: tuple[str, ...]  # editor_touched fields the file takes over (overwrite)


def _plan_update(
    story: Story,
    record: StoryRecord,
    *,
    base: StoryRecord,
    current: StoryRecord,
    held: set[str],
    overwrite: bool,
    actor,
) -> _UpdatePlan:
    """What ``record`` may change on ``story``: a pure decision over the records.

    ``base`` is the story's source record as stored, ``current`` the same with the
    editorial values, ``held`` the story fields a moderator must decide for this
    importer (``workflow.held_for_moderator``).

    * A part the file would change that is ``held`` keeps the story's value and is a
      conflict, whatever ``overwrite`` says: an editor's file never changes what readers
      see of a published story (and never unpublishes it).
    * A part a person changed (``editor_touched``) keeps the person's value and is a
      conflict when the file differs, unless ``overwrite``. A file that leaves such a key
      out says nothing about it.
    * Everything else is the file's. ``published`` moves the state only when it flips
      against the file's previous value (kept in ``Story.file_published``).
    """
    touched = set(story.editor_touched or [])
    if _lead_image_uploaded(story):
        touched.add("images")  # an upload from before uploads were recorded in editor_touched
    stored = record
    conflicts: list[str] = []
    held_parts: list[str] = []
    released: list[str] = []
    for part, fields in _SOURCE_PARTS.items():
        if _part_value(record, part) == _part_value(base, part):
            continue
        if held.intersection(fields):
            held_parts.append(part)
        elif touched.intersection(fields) and not overwrite:
            if not _part_value(record, part)[0]:
                stored = _take_part(stored, base, part)
                continue
        else:
            released += [f for f in fields if f in touched]
            continue
        conflicts.append(part)
        stored = _take_part(stored, base, part)

    kept: dict[str, Any] = {}
    for name in ("quality", "heat", "topics"):
        if name == "topics":
            file_value, current_value = tuple(record.topics or ()), tuple(current.topics or ())
        else:
            file_value, current_value = getattr(record, name), getattr(story, name)
        if name in held and file_value != current_value:
            conflicts.append(name)
            held_parts.append(name)
            kept[name] = current_value
        elif name not in touched:
            continue
        elif not record.has(name):  # the file says nothing: the editor's value stays
            kept[name] = current_value
        elif overwrite:
            released.append(name)
        else:
            if file_value != current_value:
                conflicts.append(name)
            kept[name] = current_value

    state = story.state
    if record.has("published"):
        if "published" in touched and not overwrite:
            if bool(record.published) != (story.state == State.PUBLISHED):
                conflicts.append("published")
        else:
            flipped = "published" in touched or bool(record.published) != bool(story.file_published)
            if flipped and not record.published and "published" in held:
                # Taking a story off the reader site is the moderators' decision.
                conflicts.append("published")
                held_parts.append("published")
                stored = _take_part(stored, base, "published")
            else:
                if "published" in touched:
                    released.append("published")
                if flipped:
                    state = workflow.import_state_target(
                        story.state, published=bool(record.published), actor=actor
                    )
    return _UpdatePlan(
        stored=stored,
        state=state,
        kept=kept,
        conflicts=tuple(conflicts),
        held=tuple(held_parts),
        released=tuple(released),
    )


# Any constant works; it names the lock concurrent imports queue on (PostgreSQL advisory lock).
IMPORT_LOCK_KEY = 0x4E57494D


def _take_turns_with_other_imports() -> None:
    """Concurrent imports write one chunk at a time (until the chunk's transaction ends).

    Two chunk transactions that create the same providers, topics or stories in
    different orders would otherwise deadlock on PostgreSQL. Reading, hashing and
    parsing still run concurrently. SQLite needs nothing: its IMMEDIATE
    transactions already admit one writer at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])


# Values per ``IN (...)`` lookup, well under SQLite's limit on parameters in one query.
LOOKUP_BATCH = 500


def _batches(values: Iterable[str], size: int = LOOKUP_BATCH) -> Iterator[list[str]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# Columns the import looks rows up by, per table (see _refresh_lookup_statistics).
LOOKUP_COLUMNS = {
    Story: ("source_hash", "identity_key"),
    StoryTopic: ("story_id",),
    Image: ("story_id", "related_link_id"),
    RelatedLink: ("story_id",),
}


def _refresh_lookup_statistics() -> None:
    """Give PostgreSQL's planner statistics for the columns the import looks up by.

    Without them, right after a bulk load, ``source_hash IN (...250 hashes)`` is
    planned as a sequential scan (19 ms instead of 1 ms at 10,000 stories, and
    growing with the table). Only these columns: a full ANALYZE of stories also
    evaluates the search index's expression for every sampled row (1.5 s).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, columns in LOOKUP_COLUMNS.items():
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)} ({', '.join(map(quote, columns))})")


class _Importer:
    def __init__(self, *, run, actor, can_publish, overwrite_editorial, collect_changes, on_result, report):
        self.run = run
        self.actor = actor
        self.can_publish = can_publish
        self.overwrite = overwrite_editorial
        self.collect = collect_changes
        self.on_result = on_result
        self.report = report
        self.providers: dict[str, Provider] = {}
        self.topics: dict[str, Topic] = {}
        self._new_providers: list[str] = []
        self._new_topics: list[str] = []
        self._entries: list[dict[str, Any]] = []
        self._written: set[int] = set()  # stories this run created or changed
        self._written_at_analyze = 0

    def written_story_ids(self) -> list[int]:
        """Stories this run created or changed."""
        return sorted(self._written)

    # --- batch

    def import_all(self, sources: Iterable[StorySource]) -> None:
        chunk: list[tuple[StorySource, bytes | None, str]] = []
        size = 0
        for source in sources:
            try:
                data = source.read()
                error = ""
            except OSError as exc:
                data, error = None, f"cannot read: {exc.strerror or exc}"
            chunk.append((source, data, error))
            size += len(data or b"")
            if len(chunk) >= CHUNK_FILES or size >= CHUNK_BYTES:
                self._commit_chunk(chunk)
                chunk, size = [], 0
        if chunk:
            self._commit_chunk(chunk)
        if len(self._written) > self._written_at_analyze:
            _refresh_lookup_statistics()

    def _commit_chunk(self, chunk: list[tuple[StorySource, bytes | None, str]]) -> None:
        # One transaction per chunk, a savepoint per file: a bad file still leaves no
        # partial rows, and the database does not sync to disk once per file.
        try:
            with transaction.atomic():
                _take_turns_with_other_imports()
                self._chunk(chunk)
        except Exception:
            self._forget_all()
            raise
        if len(self._written) >= max(1, 2 * self._written_at_analyze):  # each time the writes double
            self._written_at_analyze = len(self._written)
            _refresh_lookup_statistics()

    def _chunk(self, chunk: list[tuple[StorySource, bytes | None, str]]) -> None:
        hashes = [source.digest(data) if data is not None else "" for source, data, _ in chunk]
        known: dict[str, tuple[int, list, str]] = {}
        wanted = list(dict.fromkeys(h for h in hashes if h))
        for source_hash, pk, touched, title in Story.objects.filter(source_hash__in=wanted).values_list(
            "source_hash", "id", "editor_touched", "title"
        ):
            known[source_hash] = (pk, touched or [], title)
        results: list[FileResult | None] = [None] * len(chunk)
        pending: list[tuple[int, str, str, StoryRecord, str]] = []
        self._entries: list[dict[str, Any]] = []
        for index, (source, data, error) in enumerate(chunk):
            if data is None:
                results[index] = FileResult(path=source.path, outcome=FAILED, reason=error)
                continue
            source_hash = hashes[index]
            hit = known.get(source_hash)
            if hit is not None and not (hit[1] and self._editorial_relevant(hit[1])):
                # No ImportRunStory row: the run did not touch the story (its count says how many).
                results[index] = FileResult(
                    path=source.path, outcome=UNCHANGED, story_id=hit[0], title=hit[2]
                )
                continue
            try:
                record, key = source.parse(data)
            except StoryFileError as exc:
                results[index] = FileResult(path=source.path, outcome=FAILED, reason=exc.reason)
                continue
            pending.append((index, source.path, source_hash, record, key))
        if pending:
            stories = {
                s.identity_key: s for s in _story_queryset().filter(identity_key__in={p[4] for p in pending})
            }
            self._warm_caches([p[3] for p in pending])
            # New stories (first file of each new identity) are written together; files
            # for stories that exist, or repeat an identity, follow one by one, in order.
            new: list[tuple[int, str, str, StoryRecord, str]] = []
            rest: list[tuple[int, str, str, StoryRecord, str]] = []
            seen_keys: set[str] = set()
            for item in pending:
                key = item[4]
                (new if key not in stories and key not in seen_keys else rest).append(item)
                seen_keys.add(key)
            for index, result in self._create_many(new):
                results[index] = result
                if result.story_id is not None:
                    self._written.add(result.story_id)
            for index, path, source_hash, record, key in rest:
                story = (
                    _story_queryset().filter(identity_key=key).first() if key not in stories else stories[key]
                )
                results[index] = self._one(path, record, key, source_hash, story)
                if results[index].outcome in (CREATED, UPDATED, CONFLICT) and results[index].story_id:
                    self._written.add(results[index].story_id)
                stories.pop(key, None)  # a later file for this story must see what this one wrote
        if self._entries:
            entries = _Rows(ImportRunStory)
            for values in self._entries:
                entries.add(**values)
            entries.write()
            self._entries.clear()
        for result in results:
            if result is not None:
                self._result(result)

    def _entry(
        self,
        *,
        story_id: int | None,
        path: str,
        outcome: str,
        previous: dict | None = None,
        conflicts: list[str] | None = None,
        held: Sequence[str] = (),
    ) -> None:
        if self.run is not None:
            self._entries.append(
                {
                    "run": self.run.pk,
                    "story": story_id,
                    "path": path,
                    "outcome": outcome,
                    "previous": previous,
                    "conflicts": conflicts or [],
                    "held": list(held),
                }
            )

    def _editorial_relevant(self, touched: list[str]) -> bool:
        return any(f in workflow.EDITORIAL_FIELDS for f in touched)

    def _result(self, result: FileResult) -> None:
        if self.report.keep_results:
            self.report.results.append(result)
        self.report.counts[_COUNT_FOR[result.outcome]] += 1
        if result.outcome == FAILED and self.run is not None:
            self.report.failure_rows.append({"path": result.path, "reason": result.reason})
        if self.on_result is not None:
            self.on_result(result)

    # --- lookups

    def _warm_caches(self, records: list[StoryRecord]) -> None:
        domains: set[str] = set()
        names: set[str] = set()
        for record in records:
            names.update(record.topics or ())
            for provider in [record.provider] + [r.provider for r in record.related or ()]:
                if provider is not None and provider.domain:
                    domains.add(provider.domain.strip().lower())
        for batch in _batches(domains - set(self.providers)):
            for provider in Provider.objects.filter(domain__in=batch):
                self.providers.setdefault(provider.domain.lower(), provider)
        for batch in _batches(names - set(self.topics)):
            for topic in Topic.objects.filter(name__in=batch):
                self.topics[topic.name] = topic

    def _create_references(self, records: list[StoryRecord]) -> None:
        """Providers and topics that none of the stored stories use yet, created in bulk.

        A fixed number of queries per ``LOOKUP_BATCH`` names, however many topics a story
        has. Anything unusual (a slug already taken, a clash with a concurrent import) is
        left to ``_provider``/``_topic``, which handle it one at a time.
        """
        providers: dict[str, ProviderRecord] = {}
        names: dict[str, None] = {}
        for record in records:
            names.update(dict.fromkeys(record.topics or ()))
            for provider in [record.provider] + [r.provider for r in record.related or ()]:
                if provider is not None and provider.domain:
                    domain = provider.domain.strip().lower()
                    if domain not in self.providers:
                        providers.setdefault(domain, provider)
        if providers:
            new = []
            for domain, provider in providers.items():
                logo = provider.images[0] if provider.images and provider.images[0].url else None
                new.append(
                    Provider(
                        name=provider.name,
                        domain=domain,
                        logo_url=logo.url if logo else "",
                        logo_width=logo.width if logo else None,
                        logo_height=logo.height if logo else None,
                    )
                )
            Provider.objects.bulk_create(new, ignore_conflicts=True)
            for batch in _batches(providers):
                for provider in Provider.objects.filter(domain__in=batch):
                    self.providers[provider.domain.lower()] = provider
                    self._new_providers.append(provider.domain.lower())
        missing = [name for name in names if name not in self.topics]
        if missing:
            bases = {name: slugify(name)[:200] or "topic" for name in missing}
            taken: set[str] = set()
            for batch in _batches(set(bases.values())):
                taken.update(Topic.objects.filter(slug__in=batch).values_list("slug", flat=True))
            new_topics = []
            for name, base in bases.items():
                if base not in taken:
                    taken.add(base)
                    new_topics.append(Topic(name=name, slug=base))
            Topic.objects.bulk_create(new_topics, ignore_conflicts=True)
            for batch in _batches([t.name for t in new_topics]):
                for topic in Topic.objects.filter(name__in=batch):
                    self.topics[topic.name] = topic
                    self._new_topics.append(topic.name)

    def _provider(self, record: ProviderRecord | None) -> Provider | None:
        if record is None or not record.domain:
            return None
        domain = record.domain.strip().lower()
        provider = self.providers.get(domain)
        if provider is None:
            provider, created = Provider.objects.get_or_create_for_domain(domain=domain, name=record.name)
            self.providers[domain] = provider
            if created:
                self._new_providers.append(domain)
        if not provider.logo_url and record.images:
            logo = record.images[0]
            if logo.url:
                Provider.objects.filter(pk=provider.pk, logo_url="").update(
                    logo_url=logo.url, logo_width=logo.width, logo_height=logo.height
                )
                provider.logo_url, provider.logo_width, provider.logo_height = (
                    logo.url,
                    logo.width,
                    logo.height,
                )
        return provider

    def _topic(self, name: str) -> Topic:
        topic = self.topics.get(name)
        if topic is not None:
            return topic
        topic = Topic.objects.filter(name=name).first()
        if topic is None:
            base = slugify(name)[:200] or "topic"
            taken = set(Topic.objects.filter(slug__startswith=base).values_list("slug", flat=True))
            slug, n = base, 2
            while slug in taken:
                slug, n = f"{base}-{n}", n + 1
            try:
                with transaction.atomic():
                    topic = Topic.objects.create(name=name, slug=slug)
                self._new_topics.append(name)
            except IntegrityError:  # created concurrently
                topic = Topic.objects.get(name=name)
        self.topics[name] = topic
        return topic

    def _forget_all(self) -> None:
        self.providers.clear()
        self.topics.clear()

    def _forget_new(self) -> None:
        """After a rollback, objects created inside it no longer exist."""
        for domain in self._new_providers:
            self.providers.pop(domain, None)
        for name in self._new_topics:
            self.topics.pop(name, None)
        self._new_providers.clear()
        self._new_topics.clear()

    # --- one file

    def _one(
        self, path: str, record: StoryRecord, key: str, source_hash: str, story: Story | None
    ) -> FileResult:
        for attempt in (1, 2):
            self._new_providers.clear()
            self._new_topics.clear()
            try:
                with transaction.atomic():
                    if story is None:
                        return self._create(path, record, key, source_hash)
                    return self._update(path, record, source_hash, story)
            except IntegrityError as exc:
                self._forget_new()
                if attempt == 2:
                    return FileResult(path=path, outcome=FAILED, reason=_db_reason(exc))
                # most likely the same story was created concurrently: update it instead
                story = _story_queryset().filter(identity_key=key).first()
            except _Stale:
                self._forget_new()
                return FileResult(
                    path=path,
                    outcome=FAILED,
                    reason="the story was changed by someone else during the import; run it again",
                )
            except Exception as exc:
                # Whatever refused this story (the database, or the driver adapting a value it
                # cannot hold), its savepoint is rolled back: this file fails, the batch goes on.
                self._forget_new()
                if not isinstance(exc, DatabaseError):
                    logger.warning("Import of %s failed", path, exc_info=True)
                return FileResult(path=path, outcome=FAILED, reason=_db_reason(exc))
        raise AssertionError("unreachable")  # pragma: no cover

    def _create_many(
        self, items: list[tuple[int, str, str, StoryRecord, str]]
    ) -> list[tuple[int, FileResult]]:
        """Create new stories in a few bulk queries; on any database error, one by one instead."""
        if not items:
            return []
        if len(items) > 1 and connection.features.can_return_rows_from_bulk_insert:
            self._new_providers.clear()
            self._new_topics.clear()
            entries_before = len(self._entries)
            try:
                with transaction.atomic():
                    return self._bulk_create(items)
            except Exception:  # any refusal: one by one, so that only the bad files fail
                self._forget_new()
                del self._entries[entries_before:]
        return [
            (index, self._one(path, record, key, source_hash, None))
            for index, path, source_hash, record, key in items
        ]

    def _bulk_create(
        self, items: list[tuple[int, str, str, StoryRecord, str]]
    ) -> list[tuple[int, FileResult]]:
        """Rows for many new stories, written with one ``executemany`` per table.

        Tuples straight from the records, no model instances: Django's per-value work
        in ``bulk_create`` would cost more than parsing the files.
        """
        now = timezone.now()
        self._create_references([item[3] for item in items])
        stories = _Rows(Story)
        keys: list[str] = []
        for _index, _path, source_hash, record, key in items:
            provider = self._provider(record.provider)
            state = State.PUBLISHED if (record.published and self.can_publish) else State.IN_REVIEW
            stories.add(
                identity_key=key,
                provider=provider.pk,
                state=state,
                source_hash=source_hash,
                layout=_story_layout(record, provider),
                file_published=_file_published(record),
                extra=_extra(record),
                editor_touched=[],
                created_at=now,
                updated_at=now,
                **_story_values(record),
            )
            keys.append(key)
        stories.write()
        ids = dict(Story.objects.filter(identity_key__in=keys).values_list("identity_key", "id"))
        topics = _Rows(StoryTopic)
        images = _Rows(Image)
        links = _Rows(RelatedLink)
        related: list[tuple[int, int, RelatedRecord]] = []
        for _index, _path, _hash, record, key in items:
            story_id = ids[key]
            for position, name in enumerate(dict.fromkeys(record.topics or ())):
                topics.add(story=story_id, topic=self._topic(name).pk, position=position)
            _add_images(images, record.images, role=Image.Role.LEAD, story=story_id)
            if record.provider is not None:
                _add_images(images, record.provider.images, role=Image.Role.PROVIDER, story=story_id)
            for position, item in enumerate(record.related or ()):
                provider = self._provider(item.provider)
                links.add(**_related_values(story_id, position, item, provider))
                related.append((story_id, position, item))
        topics.write()
        if related:
            links.write()
            link_ids = {
                (story_id, position): pk
                for pk, story_id, position in RelatedLink.objects.filter(
                    story_id__in=list(ids.values())
                ).values_list("id", "story_id", "position")
            }
            for story_id, position, item in related:
                link_id = link_ids[(story_id, position)]
                _add_images(images, item.images, role=Image.Role.RELATED, related_link=link_id)
                if item.provider is not None:
                    _add_images(images, item.provider.images, role=Image.Role.PROVIDER, related_link=link_id)
        images.write()
        actor_id = self.actor.pk if getattr(self.actor, "is_authenticated", False) else None
        audits = _Rows(AuditEntry)
        results = []
        for index, path, _hash, record, key in items:
            state = State.PUBLISHED if (record.published and self.can_publish) else State.IN_REVIEW
            audits.add(
                story=ids[key],
                story_title=record.title,
                actor=actor_id,
                import_run=self.run.pk if self.run is not None else None,
                action="import",
                field="state",
                before=None,
                after=state,
                comment="Created by import.",
                created_at=now,
            )
            self._entry(story_id=ids[key], path=path, outcome=CREATED)
            changes = _changes(None, record) if self.collect else {}
            result = FileResult(
                path=path, outcome=CREATED, story_id=ids[key], changes=changes, title=record.title
            )
            results.append((index, result))
        audits.write()
        return results

    def _create(self, path: str, record: StoryRecord, key: str, source_hash: str) -> FileResult:
        self._create_references([record])
        provider = self._provider(record.provider)
        state = State.PUBLISHED if (record.published and self.can_publish) else State.IN_REVIEW
        story = Story(
            identity_key=key,
            provider=provider,
            state=state,
            source_hash=source_hash,
            layout=_story_layout(record, provider),
            file_published=_file_published(record),
            extra=_extra(record),
            editor_touched=[],
            **_story_values(record),
        )
        story.save(force_insert=True)
        self._write_children(
            story, record, topics=True, images=True, provider_images=True, related=True, fresh=True
        )
        audit.record(
            story=story,
            action="import",
            actor=self.actor,
            import_run=self.run,
            field="state",
            before=None,
            after=state,
            comment="Created by import.",
        )
        self._entry(story_id=story.pk, path=path, outcome=CREATED)
        changes = _changes(None, record) if self.collect else {}
        return FileResult(path=path, outcome=CREATED, story_id=story.pk, changes=changes, title=story.title)

    def _update(self, path: str, record: StoryRecord, source_hash: str, story: Story) -> FileResult:
        if source_hash in (story.superseded_hashes or ()):
            # A version of this story that a later file has replaced (e.g. one article filed
            # under two names in the batch): applying it again would flip the story back.
            return FileResult(path=path, outcome=UNCHANGED, story_id=story.pk, title=story.title)
        base = _base_record(story)
        current = _apply_editorial(
            base,
            state=story.state,
            quality=story.quality,
            heat=story.heat,
            topics=base.topics or (),
            file_published=story.file_published,
        )
        plan = _plan_update(
            story,
            record,
            base=base,
            current=current,
            held=set(workflow.held_for_moderator(story, self.actor, workflow.READER_FIELDS)),
            overwrite=self.overwrite,
            actor=self.actor,
        )
        stored, state, conflicts = plan.stored, plan.state, list(plan.conflicts)
        effective = _apply_editorial(
            stored,
            state=state,
            quality=plan.kept.get("quality", stored.quality),
            heat=plan.kept.get("heat", stored.heat),
            topics=plan.kept.get("topics", stored.topics or ()),
            file_published=stored.published,
        )
        new_touched = [f for f in (story.editor_touched or []) if f not in plan.released]
        # A file held for a moderator is not the story's source: importing it again (by a
        # moderator, or the command) must apply it, so its hash is not recorded.
        new_hash = story.source_hash if plan.held else source_hash
        same_run = story.pk in self._written
        self._record_held(story, base, record, plan.held)
        outcome = CONFLICT if conflicts else UPDATED
        if effective == current and state == story.state and new_touched == list(story.editor_touched or []):
            # Nothing a reader or an export would see changes; remember the file quietly.
            quiet: dict[str, Any] = {}
            if story.source_hash != new_hash:
                quiet["source_hash"] = new_hash
            bookkeeping = {
                "layout": _story_layout(stored, story.provider),
                "file_published": _file_published(stored),
                "superseded_hashes": _superseded_after(story, new_hash, same_run=same_run),
            }
            quiet.update({k: v for k, v in bookkeeping.items() if getattr(story, k) != v})
            if quiet:
                Story.objects.filter(pk=story.pk).update(**quiet)
            outcome = CONFLICT if conflicts else UNCHANGED
            if conflicts:
                self._entry(
                    story_id=story.pk, path=path, outcome=outcome, conflicts=conflicts, held=plan.held
                )
            return FileResult(
                path=path,
                outcome=outcome,
                story_id=story.pk,
                conflicts=conflicts,
                title=story.title,
                held=list(plan.held),
            )

        previous = _previous(story, base)
        self._create_references([stored])
        provider = self._provider(stored.provider) if stored.provider is not None else story.provider
        values = _story_values(stored)
        # State, quality, heat and topics change through the workflow service below.
        del values["quality"], values["heat"]
        values.update(
            provider=provider,
            editor_touched=new_touched,
            source_hash=new_hash,
            layout=_story_layout(stored, provider),
            file_published=_file_published(stored),
            superseded_hashes=_superseded_after(story, new_hash, same_run=same_run),
            extra=_extra(stored),
        )
        _conditional_update(story, values)
        self._write_children(
            story,
            effective,
            topics=False,
            images=current.images != effective.images,
            provider_images=(current.provider.images if current.provider else None)
            != (effective.provider.images if effective.provider else None),
            related=current.related != effective.related,
        )
        if not self._apply_workflow(story, record=record, effective=effective, current=current, state=state):
            conflicts.append("published")
            outcome = CONFLICT
        self._entry(
            story_id=story.pk,
            path=path,
            outcome=outcome,
            previous=previous,
            conflicts=conflicts,
            held=plan.held,
        )
        changes = _changes(current, effective) if self.collect else {}
        return FileResult(
            path=path,
            outcome=outcome,
            story_id=story.pk,
            changes=changes,
            conflicts=conflicts,
            title=story.title,
            held=list(plan.held),
        )

    def _record_held(self, story: Story, base: StoryRecord, record: StoryRecord, held: list[str]) -> None:
        """One audit entry per part of the file held for a moderator, naming who imported it."""
        for part in held:
            audit.record(
                story=story,
                action="held",
                actor=self.actor,
                import_run=self.run,
                field=_KEY_FIELDS.get(part, (part,))[0],
                before=_plain(_part_value(base, part)[1]),
                after=_plain(_part_value(record, part)[1]),
                comment=HELD_COMMENT,
            )

    def _apply_workflow(
        self, story: Story, *, record: StoryRecord, effective: StoryRecord, current: StoryRecord, state: str
    ) -> bool:
        """State, quality, heat and topics through the workflow service, under the person who
        imported the file (the system for the command line), audited against this run. False when
        the workflow refuses the state change (e.g. the story's expiry time has passed): the state
        is kept and the caller reports a conflict."""
        moved = True
        try:
            if state != story.state:
                try:
                    workflow.apply_import_state(
                        story,
                        published=bool(record.published),
                        actor=self.actor,
                        import_run=self.run,
                        expected_version=story.version,
                    )
                except workflow.StaleStoryError:
                    raise
                except workflow.WorkflowError:
                    moved = False
            editorial: dict[str, Any] = {}
            for name in ("quality", "heat"):
                value = getattr(effective if effective.has(name) else record, name)
                if value != getattr(story, name):
                    editorial[name] = value
            if tuple(current.topics or ()) != tuple(effective.topics or ()):
                editorial["topics"] = [self._topic(name) for name in dict.fromkeys(effective.topics or ())]
            if editorial:
                workflow.update_editorial(
                    story,
                    actor=self.actor,
                    import_run=self.run,
                    expected_version=story.version,
                    comment="Changed by import.",
                    from_file=True,
                    **editorial,
                )
        except workflow.StaleStoryError:
            raise _Stale from None
        return moved

    def _write_children(
        self,
        story: Story,
        record: StoryRecord,
        *,
        topics: bool,
        images: bool,
        provider_images: bool,
        related: bool,
        fresh: bool = False,
    ) -> None:
        """Replace the parts of the story that changed (``fresh``: a new story, nothing to delete)."""
        if topics:
            if not fresh:
                StoryTopic.objects.filter(story=story).delete()
            names = list(dict.fromkeys(record.topics or ()))
            if names:
                StoryTopic.objects.bulk_create(
                    StoryTopic(story=story, topic=self._topic(name), position=position)
                    for position, name in enumerate(names)
                )
        new_images: list[Image] = []
        if images:
            wanted = _image_rows(record.images, role=Image.Role.LEAD, story=story)
            existing = [] if fresh else list(Image.objects.filter(story=story, role=Image.Role.LEAD))
            if existing and [i.url for i in existing] == [i.url for i in wanted]:
                # Same pictures: keep the rows, and with them the local cached copies.
                for row, image in zip(existing, wanted, strict=True):
                    for name in _IMAGE_SOURCE_FIELDS:
                        setattr(row, name, getattr(image, name))
                Image.objects.bulk_update(existing, _IMAGE_SOURCE_FIELDS)
            else:
                if existing:
                    Image.objects.filter(pk__in=[i.pk for i in existing]).delete()
                new_images += wanted
        if provider_images:
            if not fresh:
                Image.objects.filter(story=story, role=Image.Role.PROVIDER).delete()
            provider_record = record.provider
            new_images += _image_rows(
                provider_record.images if provider_record else None, role=Image.Role.PROVIDER, story=story
            )
        if related:
            if not fresh:
                Image.objects.filter(related_link__story=story).delete()
                RelatedLink.objects.filter(story=story).delete()
            links = [
                _related_row(story, position, item, self._provider(item.provider))
                for position, item in enumerate(record.related or ())
            ]
            if links:
                RelatedLink.objects.bulk_create(links)
            for link, item in zip(links, record.related or (), strict=True):
                new_images += _image_rows(item.images, role=Image.Role.RELATED, related_link=link)
                if item.provider is not None:
                    new_images += _image_rows(
                        item.provider.images, role=Image.Role.PROVIDER, related_link=link
                    )
        if new_images:
            Image.objects.bulk_create(new_images)


class _Rows:
    """Rows for one table, written with one ``executemany``; unset columns get the field default."""

    def __init__(self, model):
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.names = [f.name for f in self.fields]
        self.prepare = [_preparer(f, self.connection) for f in self.fields]
        self.defaults = []
        for f, prep in zip(self.fields, self.prepare, strict=True):
            default = f.get_default()
            self.defaults.append(default if prep is None or default is None else prep(default))
        quote = self.connection.ops.quote_name
        # Table and column names come from the model and are quoted; values are parameters.
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
            quote(model._meta.db_table),
            ", ".join(quote(f.column) for f in self.fields),
            ", ".join(["%s"] * len(self.fields)),
        )
        self.copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(f.column) for f in self.fields)
        )
        self.rows: list[dict[str, Any]] = []

    def add(self, **values: Any) -> None:
        self.rows.append(values)

    def write(self) -> None:
        if not self.rows:
            return
        columns = list(zip(self.names, self.prepare, self.defaults, strict=True))
        params = []
        for values in self.rows:
            row = []
            for name, prep, default in columns:
                if name not in values:
                    row.append(default)
                else:
                    value = values[name]
                    row.append(value if prep is None or value is None else prep(value))
            params.append(row)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                # COPY takes many rows several times faster than executemany. Run through the
                # cursor's wrappers so query counters (execute_wrapper) still see it.
                cursor._execute_with_wrappers(self.copy_sql, params, many=True, executor=_copy_rows)
            else:
                cursor.executemany(self.sql, params)
        self.rows = []


def _copy_rows(sql: str, rows: list[list[Any]], many: bool, context: dict) -> None:
    # Database errors surface as Django's DatabaseError, as they do from execute().
    with context["connection"].wrap_database_errors, context["cursor"].cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _preparer(field, conn) -> Callable[[Any], Any] | None:
    kind = field.get_internal_type()
    if kind == "JSONField":
        adapt, encoder = conn.ops.adapt_json_value, field.encoder
        return lambda value: adapt(value, encoder)
    if kind == "DateTimeField":
        return conn.ops.adapt_datetimefield_value
    if kind in ("DateField", "TimeField", "DecimalField", "UUIDField", "DurationField"):
        return lambda value: field.get_db_prep_save(value, conn)
    return None


def _add_images(rows: _Rows, images: Sequence[ImageRecord] | None, *, role: str, **owner: int) -> None:
    for position, image in enumerate(images or ()):
        rows.add(**_image_values(image, role=role, position=position), **owner)


SEEN_HASHES = 16


def _superseded_after(story: Story, new_hash: str, *, same_run: bool) -> list[str]:
    """Hashes of files that a later file of the same run replaced (e.g. one article filed under
    two names in one batch), so that importing that batch again changes nothing. A file
    replaced by a later run is not remembered: importing it again is a real change."""
    if not same_run:
        return []
    seen = [h for h in story.superseded_hashes or [] if h != new_hash]
    if story.source_hash and story.source_hash != new_hash and story.source_hash not in seen:
        seen.append(story.source_hash)
    return seen[-SEEN_HASHES:]


def _db_reason(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not isinstance(exc, DatabaseError):
        # e.g. OverflowError from the driver: a value the database cannot hold.
        message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"the database refused the story: {message or type(exc).__name__}"


_IMAGE_SOURCE_FIELDS = ["position", "width", "height", "is_cached", "title", "layout", "extra"]


class _Stale(Exception):
    pass


def _conditional_update(story: Story, values: dict[str, Any]) -> None:
    now = timezone.now()
    updated = Story.objects.filter(pk=story.pk, version=story.version).update(
        version=F("version") + 1, updated_at=now, **values
    )
    if updated != 1:
        raise _Stale
    for name, value in values.items():
        setattr(story, name, value)
    story.version += 1
    story.updated_at = now
    story._state.adding = False


def _lead_image_uploaded(story: Story) -> bool:
    """Whether an editor replaced the story's lead image (``stories.images.replace_lead_image``)."""
    return any(
        image.origin == Image.Origin.UPLOAD for image in story.lead_images()
    )


def _previous(story: Story, base: StoryRecord) -> dict:
    """What ``restore_story`` needs to put the story back as it was before this import."""
    return {
        "record": record_to_json(base),
        "state": story.state,
        "quality": story.quality,
        "heat": story.heat,
        "topics": list(base.topics or ()),
        "editor_touched": list(story.editor_touched or []),
        "source_hash": story.source_hash,
        "provider_domain": story.provider.domain if story.provider_id else None,
    }


@transaction.atomic
def restore_story(*, story: Story, previous: dict, actor=None, import_run: ImportRun | None = None) -> Story:
    """Put a story back as ``ImportRunStory.previous`` describes it (what undoing an import run does).

    Source fields, editorial values, state and ``editor_touched`` all return to
    their values before the import; an audit entry is written for each of
    state, quality, heat and topics that changes. Raises ``StaleImportError``
    if the story is changed by someone else meanwhile.
    """
    story = _story_queryset().get(pk=story.pk)
    record: StoryRecord = record_from_json(previous["record"])
    importer = _Importer(
        run=import_run,
        actor=actor,
        can_publish=True,
        overwrite_editorial=True,
        collect_changes=False,
        on_result=None,
        report=ImportReport(run=import_run),
    )
    current = record_from_story(story)
    before = {
        "state": story.state,
        "quality": story.quality,
        "heat": story.heat,
        "topics": list(current.topics or ()),
    }
    restored = _apply_editorial(
        record,
        state=previous["state"],
        quality=previous["quality"],
        heat=previous["heat"],
        topics=previous["topics"],
        file_published=record.published,
    )
    importer._warm_caches([restored])
    importer._create_references([restored])
    provider = importer._provider(record.provider) if record.provider is not None else story.provider
    values = _story_values(record)
    values.update(
        quality=previous["quality"],
        heat=previous["heat"],
        provider=provider,
        state=previous["state"],
        editor_touched=previous["editor_touched"],
        source_hash=previous["source_hash"],
        layout=_story_layout(record, provider),
        file_published=_file_published(record),
        superseded_hashes=[],
        extra=_extra(record),
    )
    try:
        _conditional_update(story, values)
    except _Stale:
        raise StaleImportError(f"“{story.title}” changed while it was being restored; try again.") from None
    importer._write_children(story, restored, topics=True, images=True, provider_images=True, related=True)
    after = {
        "state": previous["state"],
        "quality": previous["quality"],
        "heat": previous["heat"],
        "topics": list(previous["topics"]),
    }
    for name in ("state", "quality", "heat", "topics"):
        if before[name] != after[name]:
            audit.record(
                story=story,
                action="import_undo",
                actor=actor,
                import_run=import_run,
                field=name,
                before=before[name],
                after=after[name],
                comment="Restored by undoing an import.",
            )
    return story


class StaleImportError(RuntimeError):
    """The story changed while an import or restore was writing it."""


# --------------------------------------------------------------------------- entry point


def import_stories(
    sources: Iterable[StorySource],
    *,
    actor=None,
    via: str = ImportRun.Via.COMMAND,
    source_label: str = "",
    dry_run: bool = False,
    overwrite_editorial: bool = False,
    collect_changes: bool = False,
    on_result: Callable[[FileResult], None] | None = None,
    keep_results: bool = True,
) -> ImportReport:
    """Import story files; see the module docstring for the rules.

    ``actor`` None is the command line (may publish). A person needs
    ``stories.import_stories``; without ``stories.publish_story`` their new
    stories wait in review.
    """
    if actor is not None and not actor.has_perm("stories.import_stories"):
        raise PermissionDenied("You may not import stories.")
    can_publish = actor is None or actor.has_perm("stories.publish_story")
    report = ImportReport(run=None, dry_run=dry_run, keep_results=keep_results)
    person = actor if getattr(actor, "is_authenticated", False) else None
    if dry_run:
        with transaction.atomic():
            importer = _Importer(
                run=None,
                actor=person,
                can_publish=can_publish,
                overwrite_editorial=overwrite_editorial,
                collect_changes=collect_changes,
                on_result=on_result,
                report=report,
            )
            importer.import_all(sources)
            transaction.set_rollback(True)
        return report
    run = ImportRun.objects.create(started_by=person, via=via, source=source_label)
    report.run = run
    importer = _Importer(
        run=run,
        actor=person,
        can_publish=can_publish,
        overwrite_editorial=overwrite_editorial,
        collect_changes=collect_changes,
        on_result=on_result,
        report=report,
    )
    status = ImportRun.Status.FINISHED
    try:
        importer.import_all(sources)
        # Created or updated stories only; does nothing unless the setting is on, and runs after commit.
        cache_images_for_stories(importer.written_story_ids())
    except KeyboardInterrupt:
        status = ImportRun.Status.INTERRUPTED
        raise
    except Exception as exc:
        # Every chunk committed before this one is kept; the run says so, and why it stopped.
        status = ImportRun.Status.CRASHED
        run.error = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        raise ImportCrashed(run, exc) from exc
    finally:
        counts = report.counts
        run.created, run.updated, run.unchanged = counts["created"], counts["updated"], counts["unchanged"]
        run.conflicts, run.failed = counts["conflicts"], counts["failed"]
        run.failures = report.failure_rows
        run.finished_at = timezone.now()
        run.status = status
        run.save(
            update_fields=[
                "created",
                "updated",
                "unchanged",
                "conflicts",
                "failed",
                "failures",
                "finished_at",
                "status",
                "error",
            ]
        )
    return report


class ImportCrashed(RuntimeError):
    """An import stopped on an unexpected error. The run is recorded as crashed, with the counts
    of the chunks it committed before the error and the error itself (``run.error``)."""

    def __init__(self, run: ImportRun, error: BaseException):
        self.run = run
        self.error = error
        super().__init__(
            f"Import #{run.pk} crashed: {run.error}. Files of the chunks committed before the error "
            "are kept; run the same import again to finish (files already imported are unchanged)."
        )


def export_filename(story: Story) -> str:
    """``<YYYY-MM-DD>-<slug of title>-<first 8 of identity>.md``: stable, and unique per story."""
    day = story.published_at.date().isoformat() if story.published_at else "undated"
    slug = slugify(story.title)[:80].strip("-") or "story"
    return f"{day}-{slug}-{story.identity_key[:8]}.md"
