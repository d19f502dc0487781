"""Reading a story file: size and encoding checks, safe YAML composing, validation into records."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from providers.domains import InvalidDomain, check_domain

from .limits import INT_MAX, INT_MIN, MAX_LENGTH, SCORE_MAX, SCORE_MIN, FileLimits
from .records import ImageRecord, ProviderRecord, RelatedRecord, StoryRecord
from .rules import one_line_problem, topic_name_problem, url_problem

try:  # the C parser is about ten times faster than the pure-Python one
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

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


_OPENING = re.compile(r"---[ \t]*(\r?\n)")
_CLOSING = re.compile(r"^---[ \t]*(?:\r?\n|\Z)", re.M)
# A cheap test for "this text may hold an anchor or alias"; a token scan decides.
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s,\[{])[&*][^\s]", re.M)


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
    root = _compose(front)
    if not isinstance(root, MappingNode):
        raise StoryFileError("front matter must be a mapping of keys to values", line=_line(root))
    _check_tags(root)
    return _story(root, newline=newline, body=body, blank_before=_blank_before(front), limits=limits)


# Marks are 0-based, and the front matter starts on the file's second line.
_FRONT_MATTER_LINE = 2


def _line(node: Node | None) -> int | None:
    if node is None or node.start_mark is None:
        return None
    return node.start_mark.line + _FRONT_MATTER_LINE


def load_yaml(text: str, *, first_line: int = 1) -> Any:
    """The plain values of one YAML document, read under the rules of a story file's front matter:
    core schema only (no tags), no anchors or aliases (alias bombs), nesting at most ``MAX_DEPTH``
    deep, no NUL, mapping keys plain strings and not repeated. For other YAML the site reads
    (spreadsheets); ``first_line`` is the line of the file ``text`` starts on, for the messages.

    Raises StoryFileError, with the line, for anything else.
    """
    try:
        root = _compose(text)
        if root is None:
            return None
        _check_tags(root)
        return _plain_value(root, "")
    except StoryFileError as exc:
        if exc.line is not None:
            exc.line += first_line - _FRONT_MATTER_LINE
        raise
    except (ValueError, OverflowError) as exc:
        # a timestamp the calendar refuses (2021-02-30)
        raise StoryFileError(f"invalid value: {exc}") from None


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
        line = mark.line + _FRONT_MATTER_LINE if mark else None
        raise StoryFileError(f"malformed YAML: {problem}", line=line) from None
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
                    line=token.start_mark.line + _FRONT_MATTER_LINE,
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
                        line=event.start_mark.line + _FRONT_MATTER_LINE,
                    )
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError:
        return  # the composer reports malformed YAML with its own message


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ALLOWED_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP}


def _key_name(where: str, key: Node) -> str:
    """The field a mapping key names, as errors spell it (``related[3].provider``)."""
    if not isinstance(key, ScalarNode):
        return where
    # A key is shown in the message: the characters no one can see or store are shown escaped.
    key_text = _UNSTORABLE.sub(lambda match: ascii(match.group())[1:-1], key.value)
    return f"{where}.{key_text}" if where else key_text


def _check_tags(root: Node) -> None:
    """Core schema only, and no node reachable twice (an alias); a refusal names the field."""
    seen: set[int] = set()
    stack: list[tuple[Node, int, str]] = [(root, 0, "")]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            raise _err(f"YAML is nested too deeply (more than {MAX_DEPTH} levels)", where, node)
        if id(node) in seen:
            raise _err("YAML aliases are not allowed", where, node)
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if node.tag not in _ALLOWED_SCALAR_TAGS:
                raise _err(f"YAML tag '{node.tag}' is not allowed", where, node)
            if _UNSTORABLE.search(node.value):
                raise _err(
                    "contains a character that cannot be stored (NUL or a lone surrogate escape)", where, node
                )
        elif isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise _err(f"YAML tag '{node.tag}' is not allowed", where, node)
            stack.extend((item, depth + 1, f"{where}[{index}]") for index, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            if node.tag != _MAP:
                raise _err(f"YAML tag '{node.tag}' is not allowed", where, node)
            for key, value in node.value:
                name = _key_name(where, key)
                stack.append((key, depth + 1, name))
                stack.append((value, depth + 1, name))
        else:  # pragma: no cover
            raise _err("unsupported YAML node", where, node)


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

# What the core schema's constructors raise for a text that an explicit tag forces on them
# (``!!bool maybe``, ``!!int ''``, ``!!timestamp nonsense``), besides the calendar's own
# ValueError (2021-02-30) and OverflowError.
_CONSTRUCT_ERRORS = (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError)
_CONSTRUCTORS = {
    _INT: ("an integer", _constructor.construct_yaml_int),
    _FLOAT: ("a number", _constructor.construct_yaml_float),
    _BOOL: ("true or false", _constructor.construct_yaml_bool),
    _TIMESTAMP: ("a valid date and time", _constructor.construct_yaml_timestamp),
}


def _construct(node: ScalarNode, name: str) -> Any:
    """The value of an int, float, bool or timestamp scalar; refused under ``name`` if its text is not one."""
    what, construct = _CONSTRUCTORS[node.tag]
    try:
        return construct(node)
    except _CONSTRUCT_ERRORS as exc:
        # The calendar says why a date is impossible; the other constructors only fail to read the text.
        why = f" ({exc})" if node.tag == _TIMESTAMP and isinstance(exc, ValueError | OverflowError) else ""
        raise _err(f"'{node.value}' is not {what}{why}", name, node) from None


def _plain_value(node: Node, name: str) -> Any:
    """A node as a plain Python value (dicts keep file order); ``name`` is its field, for errors."""
    if isinstance(node, ScalarNode):
        if node.tag == _STR:
            return node.value
        if node.tag == _NULL:
            return None
        if node.tag in _CONSTRUCTORS:
            return _construct(node, name)
        raise _err(f"YAML tag '{node.tag}' is not allowed", name, node)  # pragma: no cover
    if isinstance(node, SequenceNode):
        return [_plain_value(item, f"{name}[{index}]") for index, item in enumerate(node.value)]
    result = {}
    for key_node, value_node in _pairs(node, name):
        result[key_node.value] = _plain_value(value_node, _key_name(name, key_node))
    return result


def _pairs(node: MappingNode, where: str) -> list[tuple[ScalarNode, Node]]:
    seen: set[str] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
            raise _err(
                f"keys must be plain strings, not {_describe(key_node)} (quote a key to make it a string)",
                _key_name(where, key_node),
                key_node,
            )
        if key_node.value in seen:
            raise _err("duplicate key", _key_name(where, key_node), key_node)
        seen.add(key_node.value)
    return node.value


def _style(node: ScalarNode) -> str:
    return node.style or ""


def _err(message: str, field_name: str, node: Node | None) -> StoryFileError:
    return StoryFileError(message, field=field_name, line=_line(node))


def _as_str(
    node: Node, name: str, *, max_length: int | None = None, required: bool = False, one_line: bool = False
) -> str | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL and not required:
        return None
    if not isinstance(node, ScalarNode) or node.tag != _STR:
        raise _err(f"must be a string, got {_describe(node)}", name, node)
    if max_length is not None and len(node.value) > max_length:
        raise _err(f"is {len(node.value):,} characters long, the limit is {max_length:,}", name, node)
    if one_line:
        problem = one_line_problem(node.value)
        if problem:
            raise _err(problem, name, node)
    return node.value


def _as_line(node: Node, name: str, column: str, *, required: bool = False) -> str | None:
    """A one-line text (title, name, type) that fits its column."""
    return _as_str(node, name, max_length=MAX_LENGTH[column], required=required, one_line=True)


def _as_url(node: Node, name: str) -> str | None:
    value = _as_str(node, name, max_length=MAX_LENGTH["url"])
    if value is None:
        return None
    check_url(value, name, node)
    return value


def check_url(value: str, name: str, node: Node | None = None) -> None:
    """Refuse anything but an http(s) URL the admin's URL fields accept too."""
    problem = url_problem(value)
    if problem:
        raise _err(problem, name, node)


def _as_int(node: Node, name: str, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, ScalarNode) or node.tag != _INT:
        raise _err(f"must be an integer, got {_describe(node)}", name, node)
    value = _construct(node, name)
    if not minimum <= value <= maximum:
        raise _err(f"{value} is out of range ({minimum}..{maximum})", name, node)
    return value


def _as_score(node: Node, name: str) -> int | None:
    return _as_int(node, name, minimum=SCORE_MIN, maximum=SCORE_MAX)


def _as_bool(node: Node, name: str) -> bool | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, ScalarNode) or node.tag != _BOOL:
        raise _err(f"must be true or false, got {_describe(node)}", name, node)
    return _construct(node, name)


_ISO_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d?:\d\d:\d\d(?:\.\d+)?[ \t]*(?:Z|z|[+-]\d\d?(?::?\d\d)?)\Z"
)


def _as_datetime(node: Node, name: str) -> dt.datetime | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if isinstance(node, ScalarNode) and node.tag == _TIMESTAMP:
        timestamp = node
    elif isinstance(node, ScalarNode) and node.tag == _STR and _ISO_DATETIME.match(node.value.strip()):
        timestamp = ScalarNode(_TIMESTAMP, node.value.strip(), node.start_mark, node.end_mark)
    else:
        raise _err(f"must be a date and time with a time zone, got {_describe(node)}", name, node)
    # the calendar (2021-02-30), Python's years (0000) or the offset (+25:00) may refuse it
    value = _construct(timestamp, name)
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise _err("must be a date and time with a time zone (e.g. 2020-06-10T23:46:00Z)", name, node)
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        # Stored in UTC: a database may keep it, but Python could not read it back.
        raise _err(
            f"'{node.value}' is outside the years 1 to 9999 once converted to UTC", name, node
        ) from None
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
    value = _plain_value(node, name)
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


def _mapping_list(
    node: Node, name: str, read_item: Callable[[MappingNode, str], Any], *, limit: int, what: str
) -> tuple | None:
    """A YAML list of mappings (``images``, ``related``), each read by ``read_item``; null stays None.

    ``limit`` is checked before any item is read: a list over it costs nothing more.
    """
    if _is_null(node):
        return None
    if not isinstance(node, SequenceNode):
        raise _err(f"must be a list, got {_describe(node)}", name, node)
    _check_count(node, name, limit, what)
    result = []
    for index, item in enumerate(node.value):
        item_name = f"{name}[{index}]"
        if not isinstance(item, MappingNode):
            raise _err(f"must be a mapping, got {_describe(item)}", item_name, item)
        result.append(read_item(item, item_name))
    return tuple(result)


def _check_count(node: SequenceNode, name: str, limit: int, what: str) -> None:
    if len(node.value) > limit:
        noun, _, per = what.partition(" per ")
        raise _err(f"has {len(node.value):,} {noun}, over the limit of {limit:,} per {per}", name, node)


def _images(node: Node, name: str, limits: FileLimits, owner: str) -> tuple[ImageRecord, ...] | None:
    return _mapping_list(node, name, _image, limit=limits.max_images, what=f"images per {owner}")


def _image(item: MappingNode, item_name: str) -> ImageRecord:
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
            values["title"] = _as_line(value_node, fname, "image_title")
        else:
            extra[key] = _check_extra(key, value_node, fname)
        _note_style(styles, key, value_node, ImageRecord.PLAIN)
    return ImageRecord(keys=tuple(keys), extra=extra, styles=_styles(styles), **values)


def _provider(node: Node, name: str, limits: FileLimits) -> ProviderRecord:
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
            values["name"] = _as_line(value_node, fname, "provider_name", required=True)
        elif key == "domain":
            values["domain"] = _as_domain(value_node, fname)
        elif key == "images":
            values["images"] = _images(value_node, fname, limits, "provider")
        else:
            extra[key] = _check_extra(key, value_node, fname)
        _note_style(styles, key, value_node, ProviderRecord.PLAIN)
    for required in ("name", "domain"):
        if not values.get(required, "").strip():
            raise _err(
                "is required" if required not in keys else "must not be empty", f"{name}.{required}", node
            )
    return ProviderRecord(keys=tuple(keys), extra=extra, styles=_styles(styles), **values)


def _as_domain(node: Node, name: str) -> str:
    value = _as_str(node, name, max_length=MAX_LENGTH["domain"], required=True)
    if value.strip():  # an empty domain is reported as such below
        try:
            check_domain(value)
        except InvalidDomain as exc:
            raise _err(f"'{value}' is not a host name: it {exc}", name, node) from None
    return value


def _topics(node: Node, name: str, limits: FileLimits) -> tuple[str, ...] | None:
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, SequenceNode):
        raise _err(f"must be a list of topic names, got {_describe(node)}", name, node)
    _check_count(node, name, limits.max_topics, "topics per story")
    result = []
    for index, item in enumerate(node.value):
        item_name = f"{name}[{index}]"
        value = _as_str(item, item_name, max_length=MAX_LENGTH["topic"], required=True)
        problem = topic_name_problem(value)
        if problem:
            raise _err(problem, item_name, item)
        result.append(value)
    return tuple(result)


_URL_KEYS = {
    "webUrl": "web_url",
    "originalUrl": "original_url",
    "ampWebUrl": "amp_web_url",
    "cdnAmpWebUrl": "cdn_amp_web_url",
}


def _related(node: Node, name: str, limits: FileLimits) -> tuple[RelatedRecord, ...] | None:
    def read(item: MappingNode, item_name: str) -> RelatedRecord:
        return _related_link(item, item_name, limits)

    return _mapping_list(node, name, read, limit=limits.max_related, what="related links per story")


def _related_link(item: MappingNode, item_name: str, limits: FileLimits) -> RelatedRecord:
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    styles: dict[str, str] = {}
    keys = []
    for key_node, value_node in _pairs(item, item_name):
        key = key_node.value
        keys.append(key)
        fname = f"{item_name}.{key}"
        if key in ("title", "type"):
            values[key] = _as_line(value_node, fname, key)
        elif key == "excerpt":
            values[key] = _as_str(value_node, fname)
        elif key == "publishedDateTime":
            values["published_at"] = _as_datetime(value_node, fname)
        elif key in _URL_KEYS:
            values[_URL_KEYS[key]] = _as_url(value_node, fname)
        elif key == "provider":
            values["provider"] = None if _is_null(value_node) else _provider(value_node, fname, limits)
        elif key == "quality":
            values["quality"] = _as_score(value_node, fname)
        elif key == "images":
            values["images"] = _images(value_node, fname, limits, "related link")
        else:
            extra[key] = _check_extra(key, value_node, fname)
        _note_style(styles, key, value_node, RelatedRecord.PLAIN)
    return RelatedRecord(keys=tuple(keys), extra=extra, styles=_styles(styles), **values)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _story(
    root: MappingNode, *, newline: str, body: str, blank_before: tuple[str, ...], limits: FileLimits
) -> StoryRecord:
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    styles: dict[str, str] = {}
    keys = []
    for key_node, value_node in _pairs(root, ""):
        key = key_node.value
        keys.append(key)
        if key == "title":
            values["title"] = _as_line(value_node, key, "title", required=True)
        elif key in ("category", "type"):
            values[key] = _as_line(value_node, key, key)
        elif key in ("excerpt", "featuredContent", "secured"):
            values[StoryRecord.FIELDS[key]] = _as_str(value_node, key)
        elif key == "publishedDateTime":
            values["published_at"] = _as_datetime(value_node, key)
        elif key in _URL_KEYS:
            values[_URL_KEYS[key]] = _as_url(value_node, key)
        elif key in ("quality", "heat"):
            values[key] = _as_score(value_node, key)
        elif key == "published":
            values["published"] = _as_bool(value_node, key)
        elif key == "provider":
            values["provider"] = _provider(value_node, key, limits)
        elif key == "topics":
            values["topics"] = _topics(value_node, key, limits)
        elif key == "images":
            values["images"] = _images(value_node, key, limits, "story")
        elif key == "related":
            values["related"] = _related(value_node, key, limits)
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
