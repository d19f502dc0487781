"""Writing a record back to the text of a story file, in the style of the real files."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import yaml
from yaml.nodes import ScalarNode

from .records import Record, StoryRecord


def dump_story(record: StoryRecord) -> str:
    """The text of a story file, in the style of the real files (and the record's own layout)."""
    nl = record.newline or "\n"
    lines = ["---"]
    blank = set(record.blank_before)
    for key, value in record.items():
        if key in blank:
            lines.append("")
        _emit(lines, key, value, 0, record)
    lines.append("---")
    return nl.join(lines) + nl + record.body


def _emit(lines: list[str], key: str, value: Any, indent: int, owner: Record | None) -> None:
    pad = " " * indent
    if isinstance(value, Record):
        if not value.keys:
            lines.append(f"{pad}{key}: {{}}")
            return
        lines.append(f"{pad}{key}:")
        for k, v in value.items():
            _emit(lines, k, v, indent + 2, value)
    elif isinstance(value, dict):
        if not value:
            lines.append(f"{pad}{key}: {{}}")
            return
        lines.append(f"{pad}{key}:")
        for k, v in value.items():
            _emit(lines, k, v, indent + 2, None)
    elif isinstance(value, list | tuple):
        if not value:
            lines.append(f"{pad}{key}: []")
            return
        lines.append(f"{pad}{key}:")
        plain = owner is not None and key in owner.PLAIN and not owner.style_for(key)
        for item in value:
            _emit_item(lines, item, indent + 2, plain)
    elif isinstance(value, dt.datetime):
        explicit = owner.style_for(key) if owner is not None else None
        text = _timestamp(value)
        lines.append(f"{pad}{_key(key)}: {_double(text) if explicit else text}")
    else:
        style = owner.style_for(key) if owner is not None else None
        if style is None:
            style = "" if owner is not None and key in owner.PLAIN else '"'
        lines.append(f"{pad}{_key(key)}: {_scalar(value, style)}")


def _emit_item(lines: list[str], item: Any, indent: int, plain: bool) -> None:
    pad = " " * indent
    if isinstance(item, Record | dict):
        pairs = list(item.items())
        if not pairs:
            lines.append(f"{pad}- {{}}")
            return
        sub: list[str] = []
        owner = item if isinstance(item, Record) else None
        for k, v in pairs:
            _emit(sub, k, v, indent + 2, owner)
        sub[0] = f"{pad}- " + sub[0][indent + 2 :]
        lines.extend(sub)
    elif isinstance(item, list | tuple):
        lines.append(f"{pad}- {_flow(item)}")
    else:
        lines.append(f"{pad}- {_scalar(item, '' if plain else chr(34))}")


def _flow(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    return _scalar(value, '"')


def _key(key: str) -> str:
    return key if _plain_ok(key) else _double(key)


def _scalar(value: Any, style: str) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text if ("." in text or "e" in text or "n" in text) else text + ".0"
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if style == "" and _plain_ok(text):
        return text
    if style == "'" and _single_ok(text):
        return "'" + text.replace("'", "''") + "'"
    return _double(text)


def _timestamp(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    offset = value.utcoffset()
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_NEEDS_ESCAPE = re.compile(
    r"[\\\"\x00-\x1f\x7f-\x84\x86-\x9f\x85\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]"
)
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\0": "\\0",
    "\x07": "\\a",
    "\x08": "\\b",
    "\x0b": "\\v",
    "\x0c": "\\f",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def _escape(match: re.Match) -> str:
    char = match.group(0)
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"


def _double(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


_PLAIN_FIRST = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`]")
_NON_PRINTABLE = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x84\x86-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]"
)
_resolver = yaml.resolver.Resolver()


@functools.lru_cache(maxsize=4096)
def _plain_ok(text: str) -> bool:
    if not text or text != text.strip() or not _PLAIN_FIRST.match(text):
        return False
    if ": " in text or " #" in text or text.endswith(":") or "\t" in text or _NON_PRINTABLE.search(text):
        return False
    return _resolver.resolve(ScalarNode, text, (True, False)) == yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG


def _single_ok(text: str) -> bool:
    return not _NON_PRINTABLE.search(text) and "\t" not in text and text == text.strip()
