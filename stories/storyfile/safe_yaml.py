"""YAML read safely: composing under limits, the core schema only, plain values.

The story files' front matter and every other YAML the site reads (``load_yaml``: spreadsheets)
go through here: no anchors or aliases (alias bombs), nesting at most ``MAX_DEPTH`` deep, no tag
beyond the core schema, mapping keys plain strings and not repeated, no character a database
cannot store. A refusal names the line and where the value is (``related[3].provider``).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import FRONT_MATTER_LINE, StoryFileError, node_error

try:  # the C parser is about ten times faster than the pure-Python one
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, TIMESTAMP = (
    TAG + "str",
    TAG + "int",
    TAG + "float",
    TAG + "bool",
    TAG + "null",
    TAG + "timestamp",
)
SEQ, MAP = TAG + "seq", TAG + "map"

# A cheap test for "this text may hold an anchor or alias"; a token scan decides.
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s,\[{])[&*][^\s]", re.M)


def load_yaml(text: str, *, first_line: int = 1) -> Any:
    """The plain values of one YAML document, read under the rules of a story file's front matter:
    core schema only (no tags), no anchors or aliases (alias bombs), nesting at most ``MAX_DEPTH``
    deep, no NUL, mapping keys plain strings and not repeated. For other YAML the site reads
    (spreadsheets); ``first_line`` is the line of the file ``text`` starts on, for the messages.

    Raises StoryFileError, with the line, for anything else.
    """
    try:
        root = compose(text)
        if root is None:
            return None
        check_tags(root)
        return plain_value(root, "")
    except StoryFileError as exc:
        if exc.line is not None:
            exc.line += first_line - FRONT_MATTER_LINE
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


def compose(front: str) -> Node:
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
        line = mark.line + FRONT_MATTER_LINE if mark else None
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
                    line=token.start_mark.line + FRONT_MATTER_LINE,
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
                        line=event.start_mark.line + FRONT_MATTER_LINE,
                    )
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError:
        return  # the composer reports malformed YAML with its own message


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_ALLOWED_SCALAR_TAGS = {STR, INT, FLOAT, BOOL, NULL, TIMESTAMP}


def key_name(where: str, key: Node) -> str:
    """The field a mapping key names, as errors spell it (``related[3].provider``)."""
    if not isinstance(key, ScalarNode):
        return where
    # A key is shown in the message: the characters no one can see or store are shown escaped.
    key_text = _UNSTORABLE.sub(lambda match: ascii(match.group())[1:-1], key.value)
    return f"{where}.{key_text}" if where else key_text

def check_tags(root: Node) -> None:
    """Core schema only, and no node reachable twice (an alias); a refusal names the field."""
    seen: set[int] = set()
    stack: list[tuple[Node, int, str]] = [(root, 0, "")]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            raise node_error(f"YAML is nested too deeply (more than {MAX_DEPTH} levels)", where, node)
        if id(node) in seen:
            raise node_error("YAML aliases are not allowed", where, node)
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if node.tag not in _ALLOWED_SCALAR_TAGS:
                raise node_error(f"YAML tag '{node.tag}' is not allowed", where, node)
            if _UNSTORABLE.search(node.value):
                raise node_error(
                    "contains a character that cannot be stored (NUL or a lone surrogate escape)", where, node
                )
        elif isinstance(node, SequenceNode):
            if node.tag != SEQ:
                raise node_error(f"YAML tag '{node.tag}' is not allowed", where, node)
            stack.extend((item, depth + 1, f"{where}[{index}]") for index, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            if node.tag != MAP:
                raise node_error(f"YAML tag '{node.tag}' is not allowed", where, node)
            for key, value in node.value:
                name = key_name(where, key)
                stack.append((key, depth + 1, name))
                stack.append((value, depth + 1, name))
        else:  # pragma: no cover
            raise node_error("unsupported YAML node", where, node)


_constructor = yaml.constructor.SafeConstructor()

# What the core schema's constructors raise for a text that an explicit tag forces on them
# (``!!bool maybe``, ``!!int ''``, ``!!timestamp nonsense``), besides the calendar's own
# ValueError (2021-02-30) and OverflowError.
_CONSTRUCT_ERRORS = (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError)

_CONSTRUCTORS = {
    INT: ("an integer", _constructor.construct_yaml_int),
    FLOAT: ("a number", _constructor.construct_yaml_float),
    BOOL: ("true or false", _constructor.construct_yaml_bool),
    TIMESTAMP: ("a valid date and time", _constructor.construct_yaml_timestamp),
}


def construct(node: ScalarNode, name: str) -> Any:
    """The value of an int, float, bool or timestamp scalar; refused under ``name`` if its text is not one."""
    what, construct = _CONSTRUCTORS[node.tag]
    try:
        return construct(node)
    except _CONSTRUCT_ERRORS as exc:
        # The calendar says why a date is impossible; the other constructors only fail to read the text.
        why = f" ({exc})" if node.tag == TIMESTAMP and isinstance(exc, ValueError | OverflowError) else ""
        raise node_error(f"'{node.value}' is not {what}{why}", name, node) from None

def plain_value(node: Node, name: str) -> Any:
    """A node as a plain Python value (dicts keep file order); ``name`` is its field, for errors."""
    if isinstance(node, ScalarNode):
        if node.tag == STR:
            return node.value
        if node.tag == NULL:
            return None
        if node.tag in _CONSTRUCTORS:
            return construct(node, name)
        raise node_error(f"YAML tag '{node.tag}' is not allowed", name, node)  # pragma: no cover
    if isinstance(node, SequenceNode):
        return [plain_value(item, f"{name}[{index}]") for index, item in enumerate(node.value)]
    result = {}
    for key_node, value_node in pairs(node, name):
        result[key_node.value] = plain_value(value_node, key_name(name, key_node))
    return result

def pairs(node: MappingNode, where: str) -> list[tuple[ScalarNode, Node]]:
    seen: set[str] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag != STR:
            raise node_error(
                f"keys must be plain strings, not {describe(key_node)} (quote a key to make it a string)",
                key_name(where, key_node),
                key_node,
            )
        if key_node.value in seen:
            raise node_error("duplicate key", key_name(where, key_node), key_node)
        seen.add(key_node.value)
    return node.value

def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    kind = {
        STR: "a string",
        INT: "an integer",
        FLOAT: "a number",
        BOOL: "a boolean",
        NULL: "null",
        TIMESTAMP: "a date",
    }.get(node.tag, node.tag)
    value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f"{kind} ({value!r})" if node.tag != NULL else kind

def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL
