"""Reading one value of a story file: a node checked against the format's rules for its field.

Each reader takes the YAML node and the field's name (for the refusal) and gives the plain value,
or None for ``null`` where the field may be absent.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from yaml.nodes import Node, ScalarNode

from providers.domains import InvalidDomain, check_domain

from .errors import node_error
from .limits import INT_MAX, INT_MIN, MAX_LENGTH, SCORE_MAX, SCORE_MIN
from .rules import one_line_problem, url_problem
from .safe_yaml import BOOL, INT, NULL, STR, TIMESTAMP, construct, describe, plain_value


def as_str(
    node: Node, name: str, *, max_length: int | None = None, required: bool = False, one_line: bool = False
) -> str | None:
    if isinstance(node, ScalarNode) and node.tag == NULL and not required:
        return None
    if not isinstance(node, ScalarNode) or node.tag != STR:
        raise node_error(f"must be a string, got {describe(node)}", name, node)
    if max_length is not None and len(node.value) > max_length:
        raise node_error(f"is {len(node.value):,} characters long, the limit is {max_length:,}", name, node)
    if one_line:
        problem = one_line_problem(node.value)
        if problem:
            raise node_error(problem, name, node)
    return node.value

def as_line(node: Node, name: str, column: str, *, required: bool = False) -> str | None:
    """A one-line text (title, name, type) that fits its column."""
    return as_str(node, name, max_length=MAX_LENGTH[column], required=required, one_line=True)

def as_url(node: Node, name: str) -> str | None:
    value = as_str(node, name, max_length=MAX_LENGTH["url"])
    if value is None:
        return None
    check_url(value, name, node)
    return value

def check_url(value: str, name: str, node: Node | None = None) -> None:
    """Refuse anything but an http(s) URL the admin's URL fields accept too."""
    problem = url_problem(value)
    if problem:
        raise node_error(problem, name, node)

def as_int(node: Node, name: str, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int | None:
    if isinstance(node, ScalarNode) and node.tag == NULL:
        return None
    if not isinstance(node, ScalarNode) or node.tag != INT:
        raise node_error(f"must be an integer, got {describe(node)}", name, node)
    value = construct(node, name)
    if not minimum <= value <= maximum:
        raise node_error(f"{value} is out of range ({minimum}..{maximum})", name, node)
    return value

def as_score(node: Node, name: str) -> int | None:
    return as_int(node, name, minimum=SCORE_MIN, maximum=SCORE_MAX)

def as_bool(node: Node, name: str) -> bool | None:
    if isinstance(node, ScalarNode) and node.tag == NULL:
        return None
    if not isinstance(node, ScalarNode) or node.tag != BOOL:
        raise node_error(f"must be true or false, got {describe(node)}", name, node)
    return construct(node, name)


_ISO_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d?:\d\d:\d\d(?:\.\d+)?[ \t]*(?:Z|z|[+-]\d\d?(?::?\d\d)?)\Z"
)


def as_datetime(node: Node, name: str) -> dt.datetime | None:
    if isinstance(node, ScalarNode) and node.tag == NULL:
        return None
    if isinstance(node, ScalarNode) and node.tag == TIMESTAMP:
        timestamp = node
    elif isinstance(node, ScalarNode) and node.tag == STR and _ISO_DATETIME.match(node.value.strip()):
        timestamp = ScalarNode(TIMESTAMP, node.value.strip(), node.start_mark, node.end_mark)
    else:
        raise node_error(f"must be a date and time with a time zone, got {describe(node)}", name, node)
    # the calendar (2021-02-30), Python's years (0000) or the offset (+25:00) may refuse it
    value = construct(timestamp, name)
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise node_error("must be a date and time with a time zone (e.g. 2020-06-10T23:46:00Z)", name, node)
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        # Stored in UTC: a database may keep it, but Python could not read it back.
        raise node_error(
            f"'{node.value}' is outside the years 1 to 9999 once converted to UTC", name, node
        ) from None
    return value

def as_domain(node: Node, name: str) -> str:
    value = as_str(node, name, max_length=MAX_LENGTH["domain"], required=True)
    if value.strip():  # an empty domain is reported as such below
        try:
            check_domain(value)
        except InvalidDomain as exc:
            raise node_error(f"'{value}' is not a host name: it {exc}", name, node) from None
    return value

def check_extra(key: str, node: Node, name: str) -> Any:
    value = plain_value(node, name)
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
