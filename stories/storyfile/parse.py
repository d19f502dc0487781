"""Reading a story file: size and encoding checks, the front matter, validation into records.

Each record is read from its mapping by one table (``_STORY``, ``_PROVIDER``, ``_RELATED``,
``_IMAGE``): a file key the format models and the reader of its value (``values``). Keys the
format does not model are kept as they are (``extra``), checked only for what no value may hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import StoryFileError, line_of, node_error
from .limits import MAX_LENGTH, FileLimits
from .records import ImageRecord, ProviderRecord, Record, RelatedRecord, StoryRecord
from .rules import topic_name_problem
from .safe_yaml import STR, check_tags, compose, describe, is_null, pairs
from .values import as_bool, as_datetime, as_domain, as_int, as_line, as_score, as_str, as_url, check_extra

_OPENING = re.compile(r"---[ \t]*(\r?\n)")
_CLOSING = re.compile(r"^---[ \t]*(?:\r?\n|\Z)", re.M)


def parse_story(
    data: bytes, *, path: str = "", max_bytes: int | None = None, limits: FileLimits | None = None
) -> StoryRecord:
    """Parse and validate one story file. Raises StoryFileError with the path, field and line.

    ``limits`` default to the ``NEWSROOM_MAX_*`` settings; ``max_bytes`` overrides their size limit.
    """
    if limits is None:
        limits = FileLimits.from_settings()
    if max_bytes is not None:
        limits = replace(limits, max_bytes=max_bytes)
    try:
        return _parse(data, limits)
    except StoryFileError as exc:
        exc.path = path
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        # e.g. a timestamp YAML accepts but the calendar does not (2021-02-30)
        raise StoryFileError(f"invalid value: {exc}", path=path) from None

def _parse(data: bytes, limits: FileLimits) -> StoryRecord:
    max_bytes = limits.max_bytes
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
    nul = body.find("\x00")
    if nul != -1:
        # Not YAML, so no node checks it; PostgreSQL refuses NUL in any text.
        line = text.count("\n", 0, closing.end() + nul) + 1
        raise StoryFileError(
            "the text after the front matter contains a NUL character, which cannot be stored",
            field="body",
            line=line,
        )
    if not front.strip():
        raise StoryFileError("front matter is empty", line=2)
    root = compose(front)
    if not isinstance(root, MappingNode):
        raise StoryFileError("front matter must be a mapping of keys to values", line=line_of(root))
    check_tags(root)
    return _story(root, newline=newline, body=body, blank_before=_blank_before(front), limits=limits)


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

def _style(node: ScalarNode) -> str:
    return node.style or ""

def _note_style(styles: dict[str, str], key: str, node: Node, plain: frozenset[str]) -> None:
    if not isinstance(node, ScalarNode):
        if isinstance(node, SequenceNode) and key in plain and node.value:
            first = node.value[0]
            if isinstance(first, ScalarNode) and first.tag == STR and _style(first):
                styles[key] = _style(first)
        return
    if key == "publishedDateTime":
        # a date given as a string stays a string in the file
        if node.tag == STR:
            styles[key] = _style(node) or "plain-string"
        return
    if node.tag == STR:
        default = "" if key in plain else '"'
        if _style(node) != default:
            styles[key] = _style(node)


# A reader turns the node of one key into the record's value; ``name`` is the field, for refusals.
Reader = Callable[[Node, str, FileLimits], Any]


def _read_mapping(
    node: MappingNode, name: str, record_type: type[Record], readers: dict[str, Reader], limits: FileLimits
) -> dict[str, Any]:
    """The arguments of ``record_type`` for one mapping: its keys in file order, each modelled key's
    value read by its reader, the others as ``extra``, and the scalar styles that differ from the
    house style."""
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    styles: dict[str, str] = {}
    keys = []
    for key_node, value_node in pairs(node, name):
        key = key_node.value
        keys.append(key)
        field_name = f"{name}.{key}" if name else key
        read = readers.get(key)
        if read is None:
            extra[key] = check_extra(key, value_node, field_name)
        else:
            values[record_type.FIELDS[key]] = read(value_node, field_name, limits)
        _note_style(styles, key, value_node, record_type.PLAIN)
    return {"keys": tuple(keys), "extra": extra, "styles": tuple(styles.items()), **values}


def _line_in(column: str, *, required: bool = False) -> Reader:
    """A one-line text that fits ``column``."""
    return lambda node, name, limits: as_line(node, name, column, required=required)


def _text(node: Node, name: str, limits: FileLimits) -> str | None:
    return as_str(node, name)


def _url(node: Node, name: str, limits: FileLimits) -> str | None:
    return as_url(node, name)


def _date(node: Node, name: str, limits: FileLimits):
    return as_datetime(node, name)


def _score(node: Node, name: str, limits: FileLimits) -> int | None:
    return as_score(node, name)


def _size(node: Node, name: str, limits: FileLimits) -> int | None:
    return as_int(node, name, minimum=0)


def _flag(node: Node, name: str, limits: FileLimits) -> bool | None:
    return as_bool(node, name)


def _mapping_list(
    node: Node, name: str, read_item: Callable[[MappingNode, str], Any], *, limit: int, what: str
) -> tuple | None:
    """A YAML list of mappings (``images``, ``related``), each read by ``read_item``; null stays None.

    ``limit`` is checked before any item is read: a list over it costs nothing more.
    """
    if is_null(node):
        return None
    if not isinstance(node, SequenceNode):
        raise node_error(f"must be a list, got {describe(node)}", name, node)
    _check_count(node, name, limit, what)
    result = []
    for index, item in enumerate(node.value):
        item_name = f"{name}[{index}]"
        if not isinstance(item, MappingNode):
            raise node_error(f"must be a mapping, got {describe(item)}", item_name, item)
        result.append(read_item(item, item_name))
    return tuple(result)


def _check_count(node: SequenceNode, name: str, limit: int, what: str) -> None:
    if len(node.value) > limit:
        noun, _, per = what.partition(" per ")
        raise node_error(f"has {len(node.value):,} {noun}, over the limit of {limit:,} per {per}", name, node)


_IMAGE: dict[str, Reader] = {
    "url": _url,
    "width": _size,
    "height": _size,
    "isCached": _flag,
    "title": _line_in("image_title"),
}


def _images_of(owner: str) -> Reader:
    """The ``images`` list of a story, a related link or a provider."""

    def read(node: Node, name: str, limits: FileLimits) -> tuple[ImageRecord, ...] | None:
        def image(item: MappingNode, item_name: str) -> ImageRecord:
            return ImageRecord(**_read_mapping(item, item_name, ImageRecord, _IMAGE, limits))

        return _mapping_list(node, name, image, limit=limits.max_images, what=f"images per {owner}")

    return read


_PROVIDER: dict[str, Reader] = {
    "name": _line_in("provider_name", required=True),
    "domain": lambda node, name, limits: as_domain(node, name),
    "images": _images_of("provider"),
}


def _provider(node: Node, name: str, limits: FileLimits) -> ProviderRecord:
    if not isinstance(node, MappingNode):
        raise node_error(f"must be a mapping with name and domain, got {describe(node)}", name, node)
    fields = _read_mapping(node, name, ProviderRecord, _PROVIDER, limits)
    for required in ("name", "domain"):
        if not fields.get(required, "").strip():
            problem = "is required" if required not in fields["keys"] else "must not be empty"
            raise node_error(problem, f"{name}.{required}", node)
    return ProviderRecord(**fields)


def _topics(node: Node, name: str, limits: FileLimits) -> tuple[str, ...] | None:
    if is_null(node):
        return None
    if not isinstance(node, SequenceNode):
        raise node_error(f"must be a list of topic names, got {describe(node)}", name, node)
    _check_count(node, name, limits.max_topics, "topics per story")
    result = []
    for index, item in enumerate(node.value):
        item_name = f"{name}[{index}]"
        value = as_str(item, item_name, max_length=MAX_LENGTH["topic"], required=True)
        problem = topic_name_problem(value)
        if problem:
            raise node_error(problem, item_name, item)
        result.append(value)
    return tuple(result)


_URLS: dict[str, Reader] = dict.fromkeys(("webUrl", "originalUrl", "ampWebUrl", "cdnAmpWebUrl"), _url)

_RELATED_LINK: dict[str, Reader] = {
    "title": _line_in("title"),
    "type": _line_in("type"),
    "excerpt": _text,
    "publishedDateTime": _date,
    **_URLS,
    "provider": lambda node, name, limits: None if is_null(node) else _provider(node, name, limits),
    "quality": _score,
    "images": _images_of("related link"),
}


def _related(node: Node, name: str, limits: FileLimits) -> tuple[RelatedRecord, ...] | None:
    def link(item: MappingNode, item_name: str) -> RelatedRecord:
        return RelatedRecord(**_read_mapping(item, item_name, RelatedRecord, _RELATED_LINK, limits))

    return _mapping_list(node, name, link, limit=limits.max_related, what="related links per story")


_STORY: dict[str, Reader] = {
    "category": _line_in("category"),
    "title": _line_in("title", required=True),
    "excerpt": _text,
    "publishedDateTime": _date,
    **_URLS,
    "type": _line_in("type"),
    "quality": _score,
    "heat": _score,
    "published": _flag,
    "featuredContent": _text,
    "provider": _provider,
    "topics": _topics,
    "images": _images_of("story"),
    "related": _related,
    "secured": _text,
}


def _story(
    root: MappingNode, *, newline: str, body: str, blank_before: tuple[str, ...], limits: FileLimits
) -> StoryRecord:
    fields = _read_mapping(root, "", StoryRecord, _STORY, limits)
    keys = fields["keys"]
    if "title" not in keys:
        raise StoryFileError("is required", field="title")
    if not fields["title"].strip():
        raise node_error("must not be empty", "title", root)
    if "provider" not in keys:
        raise StoryFileError("is required (a mapping with name and domain)", field="provider")
    record = StoryRecord(newline=newline, body=body, blank_before=blank_before, **fields)
    if not record.identity_url:
        raise StoryFileError(
            "is required: a story is identified by its webUrl (or originalUrl for videos)",
            field="webUrl" if "webUrl" in keys or "originalUrl" not in keys else "originalUrl",
        )
    return record
