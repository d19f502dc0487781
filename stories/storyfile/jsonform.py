"""Records and YAML values as JSON-safe data, and back."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

from .records import ImageRecord, ProviderRecord, Record, RelatedRecord, StoryRecord

# Records as JSON-safe data (for ImportRunStory.previous and the layout columns).
# Dict key order does not survive PostgreSQL jsonb, so mappings are lists of pairs.


def encode_value(value: Any) -> Any:
    """An arbitrary YAML value as JSON that keeps types and mapping order."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"$float": repr(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, list | tuple):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {"$map": [[k, encode_value(v)] for k, v in value.items()]}
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode_value(data: Any) -> Any:
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if isinstance(data, dict):
        if "$map" in data:
            return {k: decode_value(v) for k, v in data["$map"]}
        if "$datetime" in data:
            return dt.datetime.fromisoformat(data["$datetime"])
        if "$date" in data:
            return dt.date.fromisoformat(data["$date"])
        if "$float" in data:
            return float(data["$float"])
    return data


_RECORD_TYPES: dict[str, type[Record]] = {
    "story": StoryRecord,
    "provider": ProviderRecord,
    "image": ImageRecord,
    "related": RelatedRecord,
}
_TYPE_NAMES = {v: k for k, v in _RECORD_TYPES.items()}


_PLAIN_TYPES = frozenset({type(None), bool, int, str})  # JSON as they are
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def record_to_json(record: Record) -> dict:
    """A record as JSON-safe data; ``record_from_json`` gives back an equal record."""
    data: dict[str, Any] = {"$record": _TYPE_NAMES[type(record)]}
    for name in _field_names(type(record)):
        value = getattr(record, name)
        if name == "extra":
            data["extra"] = [[k, encode_value(v)] for k, v in value.items()]
        elif name in ("keys", "blank_before"):
            data[name] = list(value)
        elif name == "styles":
            data["styles"] = [list(pair) for pair in value]
        elif type(value) in _PLAIN_TYPES:  # most values: a quick way past the checks below
            data[name] = value
        elif isinstance(value, Record):
            data[name] = record_to_json(value)
        elif isinstance(value, tuple):
            data[name] = [record_to_json(v) if isinstance(v, Record) else v for v in value]
        else:
            data[name] = encode_value(value)
    return data


def record_from_json(data: dict) -> Any:
    cls = _RECORD_TYPES[data["$record"]]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "extra":
            values["extra"] = {k: decode_value(v) for k, v in value}
        elif f.name in ("keys", "blank_before"):
            values[f.name] = tuple(value)
        elif f.name == "styles":
            values["styles"] = tuple(tuple(pair) for pair in value)
        elif isinstance(value, dict) and "$record" in value:
            values[f.name] = record_from_json(value)
        elif isinstance(value, list):
            values[f.name] = tuple(record_from_json(v) if isinstance(v, dict) else v for v in value)
        else:
            values[f.name] = decode_value(value)
    return cls(**values)
