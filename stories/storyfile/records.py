"""The typed, frozen records a story file is parsed into, and copying one with a key added."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar


@dataclass(frozen=True)
class Record:
    """Common shape: ``keys`` in file order, unknown keys in ``extra``, style deviations in ``styles``."""

    keys: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    styles: tuple[tuple[str, str], ...] = ()

    # file key -> attribute name
    FIELDS: ClassVar[dict[str, str]] = {}
    # file keys written as plain scalars by default (everything else str is double-quoted)
    PLAIN: ClassVar[frozenset[str]] = frozenset()

    def get(self, key: str) -> Any:
        attr = self.FIELDS.get(key)
        return getattr(self, attr) if attr else self.extra.get(key)

    def has(self, key: str) -> bool:
        return key in self.keys

    def items(self) -> Iterator[tuple[str, Any]]:
        """(key, value) pairs in file order, the way the file holds them."""
        for key in self.keys:
            yield key, self.get(key)

    def style_for(self, key: str) -> str | None:
        for k, style in self.styles:
            if k == key:
                return style
        return None


@dataclass(frozen=True)
class ImageRecord(Record):
    url: str | None = None
    width: int | None = None
    height: int | None = None
    is_cached: bool | None = None
    title: str | None = None

    FIELDS: ClassVar[dict[str, str]] = {
        "url": "url",
        "width": "width",
        "height": "height",
        "isCached": "is_cached",
        "title": "title",
    }


@dataclass(frozen=True)
class ProviderRecord(Record):
    name: str | None = None
    domain: str | None = None
    images: tuple[ImageRecord, ...] | None = None

    FIELDS: ClassVar[dict[str, str]] = {"name": "name", "domain": "domain", "images": "images"}
    PLAIN: ClassVar[frozenset[str]] = frozenset({"name", "domain"})


@dataclass(frozen=True)
class RelatedRecord(Record):
    title: str | None = None
    excerpt: str | None = None
    published_at: dt.datetime | None = None
    web_url: str | None = None
    original_url: str | None = None
    amp_web_url: str | None = None
    cdn_amp_web_url: str | None = None
    type: str | None = None
    provider: ProviderRecord | None = None
    quality: int | None = None
    images: tuple[ImageRecord, ...] | None = None

    FIELDS: ClassVar[dict[str, str]] = {
        "title": "title",
        "excerpt": "excerpt",
        "publishedDateTime": "published_at",
        "webUrl": "web_url",
        "originalUrl": "original_url",
        "ampWebUrl": "amp_web_url",
        "cdnAmpWebUrl": "cdn_amp_web_url",
        "type": "type",
        "provider": "provider",
        "quality": "quality",
        "images": "images",
    }
    PLAIN: ClassVar[frozenset[str]] = frozenset({"type"})


@dataclass(frozen=True)
class StoryRecord(Record):
    category: str | None = None
    title: str | None = None
    excerpt: str | None = None
    published_at: dt.datetime | None = None
    web_url: str | None = None
    original_url: str | None = None
    amp_web_url: str | None = None
    cdn_amp_web_url: str | None = None
    type: str | None = None
    quality: int | None = None
    heat: int | None = None
    published: bool | None = None
    featured_content: str | None = None
    provider: ProviderRecord | None = None
    topics: tuple[str, ...] | None = None
    images: tuple[ImageRecord, ...] | None = None
    related: tuple[RelatedRecord, ...] | None = None
    secured: str | None = None
    # Text layout of the file
    newline: str = "\n"
    body: str = ""
    blank_before: tuple[str, ...] = ()

    FIELDS: ClassVar[dict[str, str]] = {
        "category": "category",
        "title": "title",
        "excerpt": "excerpt",
        "publishedDateTime": "published_at",
        "webUrl": "web_url",
        "originalUrl": "original_url",
        "ampWebUrl": "amp_web_url",
        "cdnAmpWebUrl": "cdn_amp_web_url",
        "type": "type",
        "quality": "quality",
        "heat": "heat",
        "published": "published",
        "featuredContent": "featured_content",
        "provider": "provider",
        "topics": "topics",
        "images": "images",
        "related": "related",
        "secured": "secured",
    }
    PLAIN: ClassVar[frozenset[str]] = frozenset({"category", "type", "topics"})

    @property
    def identity_url(self) -> str | None:
        return self.web_url or self.original_url


# Keys that get a blank line before them when a record did not come from a file.
DEFAULT_BLANK_BEFORE = ("featuredContent", "provider", "topics", "images", "related", "secured")
# Canonical order of the top-level keys, used to place a key a file did not have.
CANONICAL_ORDER = tuple(StoryRecord.FIELDS)


def with_key(record: Record, key: str, **changes: Any) -> Record:
    """A copy of ``record`` with ``key`` present (placed in canonical order if it was absent)."""
    keys = list(record.keys)
    if key not in keys:
        order = list(type(record).FIELDS)
        position = order.index(key) if key in order else len(order)
        index = len(keys)
        for i, existing in enumerate(keys):
            if existing in order and order.index(existing) > position:
                index = i
                break
        keys.insert(index, key)
    return replace(record, keys=tuple(keys), **changes)
