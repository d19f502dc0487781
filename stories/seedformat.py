"""The story file format: parse, validate and dump.

A story file is YAML front matter between two ``---`` lines, optionally followed
by a body. This module is the only place that touches raw YAML: it turns the
bytes of a file into plain, typed, frozen records and turns records back into
text in the style of the real files.

Lossless by design:

* every record keeps ``keys`` (the keys of its mapping in file order, so absent
  and ``null`` differ) and ``extra`` (values of keys we do not model);
* scalar styles that differ from the house style are kept in ``styles``;
* the story keeps the file's line ending, the body after the front matter and
  the top-level keys preceded by a blank line.

Safety: files over ``settings.NEWSROOM_MAX_STORY_FILE_BYTES`` are refused before
parsing, the text must be UTF-8, only the YAML core schema is accepted (no
``!!python/...`` or any other explicit tag), anchors and aliases are refused
outright (alias bombs), and every URL must be http(s) or null.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # the C parser is about ten times faster than the pure-Python one
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

__all__ = [
    "ImageRecord",
    "ProviderRecord",
    "RelatedRecord",
    "StoryFileError",
    "StoryRecord",
    "dump_story",
    "identity_key_for",
    "identity_url_for",
    "normalise_url",
    "parse_story",
    "record_from_json",
    "record_to_json",
]

DEFAULT_MAX_BYTES = 1024 * 1024

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP = (
    _TAG + "str",
    _TAG + "int",
    _TAG + "float",
    _TAG + "bool",
    _TAG + "null",
    _TAG + "timestamp",
)
_SEQ, _MAP = _TAG + "seq", _TAG + "map"

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # what an IntegerField holds on every database


class StoryFileError(ValueError):
    """A story file that cannot be imported, with where and why."""

    def __init__(self, message: str, *, path: str = "", field: str = "", line: int | None = None):
        self.message = message
        self.path = path
        self.field = field
        self.line = line
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """The explanation without the path: ``line 4, field 'webUrl': ...``."""
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class _Record:
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
class ImageRecord(_Record):
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
class ProviderRecord(_Record):
    name: str | None = None
    domain: str | None = None
    images: tuple[ImageRecord, ...] | None = None

    FIELDS: ClassVar[dict[str, str]] = {"name": "name", "domain": "domain", "images": "images"}
    PLAIN: ClassVar[frozenset[str]] = frozenset({"name", "domain"})


@dataclass(frozen=True)
class RelatedRecord(_Record):
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
class StoryRecord(_Record):
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


# --------------------------------------------------------------------------- identity


def normalise_url(url: str) -> str:
    """Scheme and host lower-case, default port and fragment dropped; path and query kept as they are."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{host}"
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def identity_url_for(record: StoryRecord) -> str:
    url = record.identity_url
    if not url:
        raise StoryFileError("a story needs webUrl or originalUrl to be identified", field="webUrl")
    return normalise_url(url)


def identity_key_for(record: StoryRecord) -> str:
    """sha256 hex of the normalised article URL (webUrl, or originalUrl when there is no webUrl).

    Not the filename (the corpus reuses names for different articles and files one
    article under two names) and not ``secured`` (it changes between versions).
    """
    return hashlib.sha256(identity_url_for(record).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- parsing

_OPENING = re.compile(r"---[ \t]*(\r?\n)")
_CLOSING = re.compile(r"^---[ \t]*(?:\r?\n|\Z)", re.M)
# A cheap test for "this text may hold an anchor or alias"; a token scan decides.
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s,\[{])[&*][^\s]", re.M)


def parse_story(data: bytes, *, path: str = "", max_bytes: int | None = None) -> StoryRecord:
    """Parse and validate one story file. Raises StoryFileError with the path, field and line."""
    if max_bytes is None:
        max_bytes = _max_bytes()
    try:
        return _parse(data, max_bytes)
    except StoryFileError as exc:
        exc.path = path
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        # e.g. a timestamp YAML accepts but the calendar does not (2021-02-30)
        raise StoryFileError(f"invalid value: {exc}", path=path) from None


def _max_bytes() -> int:
    try:
        from django.conf import settings

        return int(getattr(settings, "NEWSROOM_MAX_STORY_FILE_BYTES", DEFAULT_MAX_BYTES))
    except Exception:  # noqa: BLE001 - settings not configured (plain scripts)
        return DEFAULT_MAX_BYTES


def _parse(data: bytes, max_bytes: int) -> StoryRecord:
    if len(data) > max_bytes:
        raise StoryFileError(f"file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoryFileError(f"not valid UTF-8 (bad byte at offset {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    opening = _OPENING.match(text)
    if opening is None:
        raise StoryFileError("no front matter: the file must start with a '---' line", line=1)
    newline = opening.group(1)
    closing = _CLOSING.search(text, opening.end())
    if closing is None:
        raise StoryFileError("front matter is not terminated: no closing '---' line")
    front = text[opening.end() : closing.start()]
    body = text[closing.end() :]
    if not front.strip():
        raise StoryFileError("front matter is empty", line=2)
    root = _compose(front)
    if not isinstance(root, MappingNode):
        raise StoryFileError("front matter must be a mapping of keys to values", line=_line(root))
    _check_tags(root)
    return _story(root, newline=newline, body=body, blank_before=_blank_before(front))


def _line(node: Node | None) -> int | None:
    # +2: marks are 0-based and the front matter starts on the file's second line
    return node.start_mark.line + 2 if node is not None and node.start_mark is not None else None


# How deep collections may nest. The C composer recurses once per level (tens of
# thousands of levels crash the process), and no story file needs more than a few.
MAX_DEPTH = 32
# Nesting beyond the indentation (which a size-bounded file cannot make deep enough to
# matter) needs one of these characters per level; few of them means no deep nesting.
_NESTING_CHARS = ("[", "{", "-", "?")


def _compose(front: str) -> Node:
    if _MAYBE_ANCHOR.search(front):
        _refuse_anchors(front)
    if sum(front.count(c) for c in _NESTING_CHARS) > 1000:
        _refuse_deep_nesting(front)
    loader = _Loader(front)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise StoryFileError(f"malformed YAML: {problem}", line=mark.line + 2 if mark else None) from None
    except yaml.YAMLError as exc:
        raise StoryFileError(f"malformed YAML: {exc}") from None
    finally:
        loader.dispose()


def _refuse_anchors(front: str) -> None:
    try:
        for token in yaml.scan(front, Loader=_Loader):
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
                kind = "anchors" if isinstance(token, yaml.AnchorToken) else "aliases"
                raise StoryFileError(
                    f"YAML {kind} are not allowed ('{'&' if kind == 'anchors' else '*'}{token.value}')",
                    line=token.start_mark.line + 2,
                )
    except yaml.MarkedYAMLError:
        return  # the composer reports malformed YAML with its own message


def _refuse_deep_nesting(front: str) -> None:
    """Check the nesting depth on the parser's events (no recursion) before composing."""
    depth = 0
    try:
        for event in yaml.parse(front, Loader=_Loader):
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise StoryFileError(
                        f"YAML is nested too deeply (more than {MAX_DEPTH} levels)",
                        line=event.start_mark.line + 2,
                    )
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError:
        return  # the composer reports malformed YAML with its own message


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ALLOWED_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP}


def _check_tags(root: Node) -> None:
    """Core schema only, and no node reachable twice (an alias)."""
    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise StoryFileError(
                f"YAML is nested too deeply (more than {MAX_DEPTH} levels)", line=_line(node)
            )
        if id(node) in seen:
            raise StoryFileError("YAML aliases are not allowed", line=_line(node))
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if node.tag not in _ALLOWED_SCALAR_TAGS:
                raise StoryFileError(f"YAML tag '{node.tag}' is not allowed", line=_line(node))
            if _UNSTORABLE.search(node.value):
                raise StoryFileError(
                    "contains a character that cannot be stored (NUL or a lone surrogate escape)",
                    line=_line(node),
                )
        elif isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise StoryFileError(f"YAML tag '{node.tag}' is not allowed", line=_line(node))
            stack.extend((item, depth + 1) for item in node.value)
        elif isinstance(node, MappingNode):
            if node.tag != _MAP:
                raise StoryFileError(f"YAML tag '{node.tag}' is not allowed", line=_line(node))
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        else:  # pragma: no cover
            raise StoryFileError("unsupported YAML node", line=_line(node))


_TOP_KEY = re.compile(r"([^\s#'\"][^:\r\n]*):(?:[ \t]|\r?$)")


def _blank_before(front: str) -> tuple[str, ...]:
    result = []
    previous_blank = False
    for line in front.splitlines():
        if not line.strip():
            previous_blank = True
            continue
        if previous_blank:
            match = _TOP_KEY.match(line)
            if match:
                result.append(match.group(1).strip())
        previous_blank = False
    return tuple(result)


_constructor = yaml.constructor.SafeConstructor()


def _plain_value(node: Node) -> Any:
    """A node as a plain Python value (dicts keep file order)."""
    if isinstance(node, ScalarNode):
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _INT:
            return _constructor.construct_yaml_int(node)
        if tag == _BOOL:
            return _constructor.construct_yaml_bool(node)
        if tag == _NULL:
            return None
        if tag == _FLOAT:
            return _constructor.construct_yaml_float(node)
        if tag == _TIMESTAMP:
            return _constructor.construct_yaml_timestamp(node)
        raise StoryFileError(f"YAML tag '{tag}' is not allowed", line=_line(node))  # pragma: no cover
    if isinstance(node, SequenceNode):
        return [_plain_value(item) for item in node.value]
    result = {}
    for key_node, value_node in _pairs(node, ""):
        result[key_node.value] = _plain_value(value_node)
    return result


def _pairs(node: MappingNode, where: str) -> list[tuple[ScalarNode, Node]]:
    seen: set[str] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
            raise StoryFileError("keys must be plain strings", field=where, line=_line(key_node))
        if key_node.value in seen:
            raise StoryFileError(
                "duplicate key", field=f"{where}.{key_node.value}".lstrip("."), line=_line(key_node)
            )
        seen.add(key_node.value)
    return node.value


def _style(node: ScalarNode) -> str:
    return node.style or ""


def _err(message: str, field_name: str, node: Node | None) -> StoryFileError:
    return StoryFileError(message, field=field_name, line=_line(node))


def _as_str(node: Node, name: str, *, max_length: int | None = None, required: bool = False) -> str | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL and not required:
        return None
    if not isinstance(node, ScalarNode) or node.tag != _STR:
        raise _err(f"must be a string, got {_describe(node)}", name, node)
    if max_length is not None and len(node.value) > max_length:
        raise _err(f"is {len(node.value)} characters long, the limit is {max_length}", name, node)
    return node.value


def _as_url(node: Node, name: str) -> str | None:
    value = _as_str(node, name, max_length=2000)
    if value is None:
        return None
    check_url(value, name, node)
    return value


def check_url(value: str, name: str, node: Node | None = None) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise _err("is not a valid URL", name, node) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or value != value.strip():
        scheme = parts.scheme or "no scheme"
        raise _err(f"URL scheme '{scheme}' is not allowed (only http and https)", name, node)


def _as_int(node: Node, name: str, *, minimum: int = INT_MIN) -> int | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, ScalarNode) or node.tag != _INT:
        raise _err(f"must be an integer, got {_describe(node)}", name, node)
    value = _constructor.construct_yaml_int(node)
    if not minimum <= value <= INT_MAX:
        raise _err(f"{value} is out of range ({minimum}..{INT_MAX})", name, node)
    return value


def _as_bool(node: Node, name: str) -> bool | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, ScalarNode) or node.tag != _BOOL:
        raise _err(f"must be true or false, got {_describe(node)}", name, node)
    return _constructor.construct_yaml_bool(node)


_ISO_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d?:\d\d:\d\d(?:\.\d+)?[ \t]*(?:Z|z|[+-]\d\d?(?::?\d\d)?)\Z"
)


def _as_datetime(node: Node, name: str) -> dt.datetime | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if isinstance(node, ScalarNode) and node.tag == _TIMESTAMP:
        value = _constructor.construct_yaml_timestamp(node)
    elif isinstance(node, ScalarNode) and node.tag == _STR and _ISO_DATETIME.match(node.value.strip()):
        timestamp = ScalarNode(_TIMESTAMP, node.value.strip(), node.start_mark, node.end_mark)
        try:
            value = _constructor.construct_yaml_timestamp(timestamp)
        except (ValueError, TypeError):
            raise _err(f"'{node.value}' is not a valid date and time", name, node) from None
    else:
        raise _err(f"must be a date and time with a time zone, got {_describe(node)}", name, node)
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise _err("must be a date and time with a time zone (e.g. 2020-06-10T23:46:00Z)", name, node)
    return value


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    kind = {
        _STR: "a string",
        _INT: "an integer",
        _FLOAT: "a number",
        _BOOL: "a boolean",
        _NULL: "null",
        _TIMESTAMP: "a date",
    }.get(node.tag, node.tag)
    value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f"{kind} ({value!r})" if node.tag != _NULL else kind


def _check_extra(key: str, node: Node, name: str) -> Any:
    value = _plain_value(node)
    _check_extra_urls(key, value, name, node)
    return value


def _check_extra_urls(key: str, value: Any, name: str, node: Node) -> None:
    """Keys we do not model but that are named like URLs must still be http(s)."""
    if isinstance(value, str) and key.lower().endswith("url"):
        check_url(value, name, node)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_extra_urls(k, v, f"{name}.{k}", node)
    elif isinstance(value, list):
        for v in value:
            _check_extra_urls(key, v, name, node)


def _styles(styles: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(styles.items())


def _note_style(styles: dict[str, str], key: str, node: Node, plain: frozenset[str]) -> None:
    if not isinstance(node, ScalarNode):
        if isinstance(node, SequenceNode) and key in plain and node.value:
            first = node.value[0]
            if isinstance(first, ScalarNode) and first.tag == _STR and _style(first):
                styles[key] = _style(first)
        return
    if key == "publishedDateTime":
        # a date given as a string stays a string in the file
        if node.tag == _STR:
            styles[key] = _style(node) or "plain-string"
        return
    if node.tag == _STR:
        default = "" if key in plain else '"'
        if _style(node) != default:
            styles[key] = _style(node)


def _images(node: Node, name: str) -> tuple[ImageRecord, ...] | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, SequenceNode):
        raise _err(f"must be a list, got {_describe(node)}", name, node)
    result = []
    for index, item in enumerate(node.value):
        item_name = f"{name}[{index}]"
        if not isinstance(item, MappingNode):
            raise _err(f"must be a mapping, got {_describe(item)}", item_name, item)
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        styles: dict[str, str] = {}
        keys = []
        for key_node, value_node in _pairs(item, item_name):
            key = key_node.value
            keys.append(key)
            fname = f"{item_name}.{key}"
            if key == "url":
                values["url"] = _as_url(value_node, fname)
            elif key in ("width", "height"):
                values[key] = _as_int(value_node, fname, minimum=0)
            elif key == "isCached":
                values["is_cached"] = _as_bool(value_node, fname)
            elif key == "title":
                values["title"] = _as_str(value_node, fname, max_length=1000)
            else:
                extra[key] = _check_extra(key, value_node, fname)
            _note_style(styles, key, value_node, ImageRecord.PLAIN)
        result.append(ImageRecord(keys=tuple(keys), extra=extra, styles=_styles(styles), **values))
    return tuple(result)


def _provider(node: Node, name: str) -> ProviderRecord:
    if not isinstance(node, MappingNode):
        raise _err(f"must be a mapping with name and domain, got {_describe(node)}", name, node)
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    styles: dict[str, str] = {}
    keys = []
    for key_node, value_node in _pairs(node, name):
        key = key_node.value
        keys.append(key)
        fname = f"{name}.{key}"
        if key == "name":
            values["name"] = _as_str(value_node, fname, max_length=300, required=True)
        elif key == "domain":
            values["domain"] = _as_str(value_node, fname, max_length=253, required=True)
        elif key == "images":
            values["images"] = _images(value_node, fname)
        else:
            extra[key] = _check_extra(key, value_node, fname)
        _note_style(styles, key, value_node, ProviderRecord.PLAIN)
    for required in ("name", "domain"):
        if not values.get(required, "").strip():
            raise _err(
                "is required" if required not in keys else "must not be empty", f"{name}.{required}", node
            )
    return ProviderRecord(keys=tuple(keys), extra=extra, styles=_styles(styles), **values)


def _topics(node: Node, name: str) -> tuple[str, ...] | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, SequenceNode):
        raise _err(f"must be a list of topic names, got {_describe(node)}", name, node)
    result = []
    for index, item in enumerate(node.value):
        value = _as_str(item, f"{name}[{index}]", max_length=200, required=True)
        if not value.strip():
            raise _err("must not be empty", f"{name}[{index}]", item)
        result.append(value)
    return tuple(result)


_URL_KEYS = {
    "webUrl": "web_url",
    "originalUrl": "original_url",
    "ampWebUrl": "amp_web_url",
    "cdnAmpWebUrl": "cdn_amp_web_url",
}


def _related(node: Node, name: str) -> tuple[RelatedRecord, ...] | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, SequenceNode):
        raise _err(f"must be a list, got {_describe(node)}", name, node)
    result = []
    for index, item in enumerate(node.value):
        item_name = f"{name}[{index}]"
        if not isinstance(item, MappingNode):
            raise _err(f"must be a mapping, got {_describe(item)}", item_name, item)
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        styles: dict[str, str] = {}
        keys = []
        for key_node, value_node in _pairs(item, item_name):
            key = key_node.value
            keys.append(key)
            fname = f"{item_name}.{key}"
            if key in ("title", "excerpt", "type"):
                limit = {"title": 1000, "type": 40}.get(key)
                values[key] = _as_str(value_node, fname, max_length=limit)
            elif key == "publishedDateTime":
                values["published_at"] = _as_datetime(value_node, fname)
            elif key in _URL_KEYS:
                values[_URL_KEYS[key]] = _as_url(value_node, fname)
            elif key == "provider":
                values["provider"] = None if _is_null(value_node) else _provider(value_node, fname)
            elif key == "quality":
                values["quality"] = _as_int(value_node, fname)
            elif key == "images":
                values["images"] = _images(value_node, fname)
            else:
                extra[key] = _check_extra(key, value_node, fname)
            _note_style(styles, key, value_node, RelatedRecord.PLAIN)
        result.append(RelatedRecord(keys=tuple(keys), extra=extra, styles=_styles(styles), **values))
    return tuple(result)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _story(root: MappingNode, *, newline: str, body: str, blank_before: tuple[str, ...]) -> StoryRecord:
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    styles: dict[str, str] = {}
    keys = []
    for key_node, value_node in _pairs(root, ""):
        key = key_node.value
        keys.append(key)
        if key == "title":
            values["title"] = _as_str(value_node, key, max_length=1000, required=True)
        elif key in ("category", "excerpt", "type", "featuredContent", "secured"):
            limit = {"category": 100, "type": 40}.get(key)
            values[StoryRecord.FIELDS[key]] = _as_str(value_node, key, max_length=limit)
        elif key == "publishedDateTime":
            values["published_at"] = _as_datetime(value_node, key)
        elif key in _URL_KEYS:
            values[_URL_KEYS[key]] = _as_url(value_node, key)
        elif key in ("quality", "heat"):
            values[key] = _as_int(value_node, key)
        elif key == "published":
            values["published"] = _as_bool(value_node, key)
        elif key == "provider":
            values["provider"] = _provider(value_node, key)
        elif key == "topics":
            values["topics"] = _topics(value_node, key)
        elif key == "images":
            values["images"] = _images(value_node, key)
        elif key == "related":
            values["related"] = _related(value_node, key)
        else:
            extra[key] = _check_extra(key, value_node, key)
        _note_style(styles, key, value_node, StoryRecord.PLAIN)
    if "title" not in keys:
        raise StoryFileError("is required", field="title")
    if not values["title"].strip():
        raise _err("must not be empty", "title", root)
    if "provider" not in keys:
        raise StoryFileError("is required (a mapping with name and domain)", field="provider")
    record = StoryRecord(
        keys=tuple(keys),
        extra=extra,
        styles=_styles(styles),
        newline=newline,
        body=body,
        blank_before=blank_before,
        **values,
    )
    if not record.identity_url:
        raise StoryFileError(
            "is required: a story is identified by its webUrl (or originalUrl for videos)",
            field="webUrl" if "webUrl" in keys or "originalUrl" not in keys else "originalUrl",
        )
    return record


# --------------------------------------------------------------------------- dumping


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


def _emit(lines: list[str], key: str, value: Any, indent: int, owner: _Record | None) -> None:
    pad = " " * indent
    if isinstance(value, _Record):
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
    if isinstance(item, _Record | dict):
        pairs = list(item.items())
        if not pairs:
            lines.append(f"{pad}- {{}}")
            return
        sub: list[str] = []
        owner = item if isinstance(item, _Record) else None
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
    return _resolver.resolve(ScalarNode, text, (True, False)) == _STR


def _single_ok(text: str) -> bool:
    return not _NON_PRINTABLE.search(text) and "\t" not in text and text == text.strip()


# --------------------------------------------------------------------------- JSON form

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


_RECORD_TYPES: dict[str, type[_Record]] = {
    "story": StoryRecord,
    "provider": ProviderRecord,
    "image": ImageRecord,
    "related": RelatedRecord,
}
_TYPE_NAMES = {v: k for k, v in _RECORD_TYPES.items()}


def record_to_json(record: _Record) -> dict:
    """A record as JSON-safe data; ``record_from_json`` gives back an equal record."""
    data: dict[str, Any] = {"$record": _TYPE_NAMES[type(record)]}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name == "extra":
            data["extra"] = [[k, encode_value(v)] for k, v in value.items()]
        elif f.name in ("keys", "blank_before"):
            data[f.name] = list(value)
        elif f.name == "styles":
            data["styles"] = [list(pair) for pair in value]
        elif isinstance(value, _Record):
            data[f.name] = record_to_json(value)
        elif isinstance(value, tuple):
            data[f.name] = [record_to_json(v) if isinstance(v, _Record) else v for v in value]
        else:
            data[f.name] = encode_value(value)
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


def with_key(record: _Record, key: str, **changes: Any) -> _Record:
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
