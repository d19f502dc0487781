"""A parsed story file as the values of its rows: pure, no queries.

Columns that hold a file's value of the same name come from the models
(``STORY_FILE_COLUMNS`` and the like); what the format carries beyond them (key order,
styles, nulls, the time zone of a date, keys we do not model) goes to ``layout`` and
``extra``, so that ``records`` can give back exactly the file that came in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import models

from providers.models import Provider
from stories.models import (
    IMAGE_FILE_COLUMNS,
    RELATED_FILE_COLUMNS,
    STORY_FILE_COLUMNS,
    Image,
    RelatedLink,
    Story,
)
from stories.storyfile import ImageRecord, ProviderRecord, RelatedRecord, StoryRecord, encode_value


def _blank_when_absent(model, columns: Sequence[str]) -> frozenset[str]:
    """Text columns that cannot be null: the database keeps an absent text as ''."""
    return frozenset(
        name
        for name in columns
        if isinstance(field := model._meta.get_field(name), models.CharField | models.TextField)
        and not field.null
    )


STORY_TEXT = _blank_when_absent(Story, STORY_FILE_COLUMNS)
RELATED_TEXT = _blank_when_absent(RelatedLink, RELATED_FILE_COLUMNS)
IMAGE_TEXT = _blank_when_absent(Image, IMAGE_FILE_COLUMNS)
# What an image row keeps of its file besides its URL: an update with the same URLs keeps the
# rows (and with them the local cached copies) and writes only these.
IMAGE_SOURCE_COLUMNS = ["position", *(c for c in IMAGE_FILE_COLUMNS if c != "url"), "layout", "extra"]


def tz_minutes(value: dt.datetime | None) -> int:
    if value is None or value.utcoffset() is None:
        return 0
    return int(value.utcoffset().total_seconds() // 60)


def nulls(record) -> list[str]:
    # Same as ``[k for k, v in record.items() if v is None]``, without a call per key: hot on import.
    fields, extra = record.FIELDS, record.extra
    return [
        key
        for key in record.keys
        if (getattr(record, fields[key]) if key in fields else extra.get(key)) is None
    ]


def record_layout(record, **more) -> dict:
    layout: dict[str, Any] = {"keys": list(record.keys)}
    if record.styles:
        layout["styles"] = [list(pair) for pair in record.styles]
    absent = nulls(record)
    if absent:
        layout["nulls"] = absent
    layout.update({k: v for k, v in more.items() if v is not None and v != [] and v != {} and v != 0})
    return layout


def extra(record) -> dict:
    return {key: encode_value(value) for key, value in record.extra.items()}


def _columns(record, columns: Sequence[str], text: frozenset[str]) -> dict[str, Any]:
    values = {}
    for column in columns:
        value = getattr(record, column)
        values[column] = ("" if value is None else value) if column in text else value
    return values


def provider_layout(provider: ProviderRecord | None, db_domain: str | None) -> dict | None:
    if provider is None:
        return None
    layout = record_layout(provider)
    if provider.extra:
        layout["extra"] = extra(provider)
    if provider.domain and provider.domain != db_domain:
        layout["domain"] = provider.domain
    return layout


def image_values(image: ImageRecord, *, role: str, position: int) -> dict[str, Any]:
    """The Image columns for one image of a file, without its owner."""
    return _columns(image, IMAGE_FILE_COLUMNS, IMAGE_TEXT) | {
        "role": role,
        "position": position,
        "layout": record_layout(image),
        "extra": extra(image),
    }


def image_rows(images: Sequence[ImageRecord] | None, *, role: str, **owner) -> list[Image]:
    return [
        Image(**image_values(image, role=role, position=position), **owner)
        for position, image in enumerate(images or ())
    ]


def story_values(record: StoryRecord) -> dict[str, Any]:
    """The story's own columns the file gives (not its provider, state or bookkeeping)."""
    values = _columns(record, STORY_FILE_COLUMNS, STORY_TEXT)
    values["body"] = record.body
    values["provider_name"] = record.provider.name if record.provider is not None else ""
    return values


def story_layout(record: StoryRecord, provider: Provider | None) -> dict:
    topics = list(record.topics or ())
    return record_layout(
        record,
        newline=record.newline if record.newline != "\n" else None,
        tz=tz_minutes(record.published_at),
        provider=provider_layout(record.provider, provider.domain if provider else None),
        topics_raw=topics if len(set(topics)) != len(topics) else None,
    ) | {"blank_before": list(record.blank_before)}


def file_published(record: StoryRecord) -> bool | None:
    """The file's ``published`` flag (None: the file has no such key)."""
    return record.published if record.has("published") else None


def source_columns(record: StoryRecord, provider: Provider | None) -> dict[str, Any]:
    """Every column of a story its file decides: its values, provider and formatting. Quality and
    heat are editorial values, and state is the workflow's: neither is here."""
    values = story_values(record)
    del values["quality"], values["heat"]
    return values | {
        "provider": provider,
        "layout": story_layout(record, provider),
        "file_published": file_published(record),
        "extra": extra(record),
    }


def related_values(
    story_id: int | None, position: int, record: RelatedRecord, provider: Provider | None
) -> dict[str, Any]:
    """A related link's columns, with its story and provider as ids."""
    return _columns(record, RELATED_FILE_COLUMNS, RELATED_TEXT) | {
        "story": story_id,
        "position": position,
        "provider": provider.pk if provider is not None else None,
        "provider_name": record.provider.name if record.provider is not None else "",
        "layout": record_layout(
            record,
            tz=tz_minutes(record.published_at),
            provider=provider_layout(record.provider, provider.domain if provider else None),
        ),
        "extra": extra(record),
    }


def related_row(story: Story, position: int, record: RelatedRecord, provider: Provider | None) -> RelatedLink:
    values = related_values(story.pk, position, record, provider)
    values["story_id"], values["provider_id"] = values.pop("story"), values.pop("provider")
    return RelatedLink(**values)
