"""Story files of the real corpus with mutated values, through the import service and every page
that shows a story.

Each example takes a file of ``seeds/`` (or of ``../shared/realdata/``), changes one to three of its
values towards the edges that matter (dates near years 1 and 9999 with offsets, integers at and past
their columns, strings at and past their lengths, control and invisible characters, domains and URLs
that are not what they look like, topic names holding separators, lists at and past their limits,
wrong types, explicit YAML tags, nulls, missing keys) and imports it as a moderator would upload it.
Either the file is refused with a reason naming the field that was changed (or the file as a whole,
for its size), or the story it describes is served: the reader pages, feeds and sitemaps list it, the
admin and the moderation queue show it, every one answering 200, and nothing is logged as left out.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from reprlib import Repr
from urllib.parse import urlencode

import pytest
import yaml
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from stories import workflow
from stories.imports.export import export_story, stories_for_export
from stories.imports.outcomes import FileResult
from stories.imports.service import import_stories
from stories.imports.sources import StorySource
from stories.models import ImportRun, State, Story
from stories.reader.sitemaps import SITEMAPS
from stories.storyfile import INT_MAX, INT_MIN, MAX_LENGTH, SCORE_MAX, SCORE_MIN
from tests.browser_forms import form_data
from tests.imports.test_export_roundtrip import REALDATA, SEEDS, distinct_files

pytestmark = pytest.mark.django_db

FRONT = re.compile(r"\A(?:\ufeff)?---\r?\n(.*?)^---[ \t]*\r?$", re.S | re.M)
FILE_REFUSALS = re.compile(r"file is [\d,]+ bytes, over the limit of [\d,]+ bytes")
MALFORMED = re.compile(r"line \d+: malformed YAML: ")
LONE_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
FIELD = re.compile(r"field '([^']*)'")
# Which key names a file's identity: removing or breaking one may be reported under the other.
IDENTITY_KEYS = {"webUrl", "originalUrl"}

# Every example runs the same way on every machine; failures shrink to a small file.
PROPERTY = hypothesis_settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# --------------------------------------------------------------------------- the corpus


@cache
def corpus(root: Path) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The distinct story files under ``root``: those with related links, and all of them."""
    files = distinct_files(root)
    with_related = tuple(path for path in files if "related" in front_matter_of(path))
    return with_related, tuple(files)


@cache
def front_matter_of(path: Path) -> dict:
    """The front matter as a plain YAML reader sees it, independent of stories.storyfile."""
    text = path.read_bytes().decode("utf-8")
    return yaml.load(FRONT.match(text).group(1), Loader=yaml.CSafeLoader)  # noqa: S506 - the safe loader


# --------------------------------------------------------------------------- writing YAML


@dataclass(frozen=True)
class Raw:
    """A scalar written into the YAML text as it is: an unquoted timestamp, ``0x1F``, ``yes``, a tag."""

    text: str


_RAW_TOKEN = re.compile(r"raw-scalar-(\d+)-end")


def dump(
    data: dict, *, body: str = "", newline: str = "\n", allow_unicode: bool = True, bom: bool = False
) -> bytes:
    """A story file: the front matter written by PyYAML's safe dumper, then ``Raw`` scalars put in place."""
    raws: list[str] = []

    def swap(value):
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"raw-scalar-{len(raws) - 1}-end"
        if isinstance(value, dict):
            return {swap(k): swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    front = yaml.safe_dump(
        swap(data), sort_keys=False, allow_unicode=allow_unicode, width=1_000_000, default_flow_style=False
    )
    front = _RAW_TOKEN.sub(lambda match: raws[int(match.group(1))], front)
    text = f"---\n{front}---\n".replace("\n", newline) + body
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- values at the edges

ONE_LINE_KEYS = {"title", "name", "type", "category"}
TEXT_KEYS = {"excerpt", "secured", "featuredContent"}
INT_KEYS = {"quality", "heat", "width", "height"}
BOOL_KEYS = {"published", "isCached"}
LENGTH_OF = {
    "title": MAX_LENGTH["title"],
    "name": MAX_LENGTH["provider_name"],
    "type": MAX_LENGTH["type"],
    "category": MAX_LENGTH["category"],
    "domain": MAX_LENGTH["domain"],
    "topics": MAX_LENGTH["topic"],
    "url": MAX_LENGTH["url"],
}

# fmt: off
# Markup that would run if any page showed it unescaped.
MARKUP = "<img src=x onerror=alert(1)>"
# Characters a one-line text (title, name, topic) refuses, and the odd ones it keeps.
REFUSED_CHARACTERS = (
    # NUL, controls, line and paragraph separators, DEL and C1 controls
    "\x00", "\x01", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029",
    # bidirectional embeddings, overrides and isolates
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    # invisible: zero-width space, word joiner, invisible operators, deprecated format controls, BOM
    "\u200b", "\u2060", "\u2062", "\u206a", "\ufeff",
    # lone surrogates
    "\ud800", "\udfff",
)
KEPT_CHARACTERS = (
    # joiners and direction marks that scripts need, soft hyphen, tag character, non-characters
    "\u200c", "\u200d", "\u200e", "\u200f", "\xad", "\U000e0041", "\ufffe", "\uffff", "\ufffd",
    # what markup, templates, formats and spreadsheets give meaning to
    "<", ">", "&", '"', "'", "\\", "#", ":", "{{", "{%", "%s", "=", "@", "+", "-", "\u00a0", "\u3000",
    # scripts and symbols: combining accent, Arabic, Hebrew, CJK, emoji with a joiner
    "\u0301", "\u0627", "\u05d0", "\u65e5", "\U0001f469\u200d\U0001f4bb", MARKUP,
)
LONG_FILLERS = ("a", "é", "日", "\U0001f600", "-")

HOST_NAMES = (
    "EXAMPLE.COM", "Example.Com", "bücher.de", "BÜCHER.DE", "xn--bcher-kva.de", "例え.テスト", "ß.de",
    "xn--mgbh0fb.xn--kgbechtv", "localhost", "127.0.0.1", "com", "1.com", "a.b.c.d.e.f.g.h",
    "a" * 63 + ".com",
    ".".join(["a" * 63] * 3) + "." + "b" * 61, "xn--e1afmkfd.xn--p1ai", "ex-ample.com", "a--b.com",
)
NOT_HOST_NAMES = (
    "micro/soft.com", "micro soft.com", "example.com:8080", "example.com:", "http://example.com",
    "https://example.com/", "user@example.com", "example..com", ".example.com", "example.com.", ".",
    "-example.com", "example-.com", "ex_ample.com", "exa%20mple.com", "exa\u200bmple.com", "xn--zz.com",
    "xn--.com", "ⅸ.com", "İstanbul.tr", "ﬁ.com", "[::1]", "::1", "a" * 64 + ".com", ".".join(["b" * 50] * 5),
    "example.com\n", " example.com", "example.com\t", "exa\u202emple.com", "\u0627\u0644.com",
    "*.example.com",
    "example.com/", "example.com?x", "example.com#x", "", " ",
)

GOOD_URLS = (
    "HTTP://EXAMPLE.COM/A", "hTtPs://Example.com/", "https://user:pass@example.com/",
    "https://example.com:65535/",
    "https://[::1]/", "https://1.2.3.4/", "https://例え.jp/パス?q=値", "https://xn--e1afmkfd.xn--p1ai/",
    "https://example.com/?q=<script>alert(1)</script>", "https://example.com/#frag",
    "https://example.com/%00",
    "https://example.com/\\..\\", "https://localhost/", "http://example.com./", "https://example.com/\u200d",
    "https://example.com/" + "a" * 1980, "https://example.com/?a=1&b=2&c=%22", "https://example.com/'\"",
)
BAD_URLS = (
    "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "ftp://example.com/a",
    "file:///etc/passwd", "mailto:a@example.com", "//example.com/a", "http:/example.com", "http:///a",
    "http://",
    "https://", "https://example.com:0/", "https://example.com:65536/", "https://example.com:99999999999/",
    "https://[::1/", "https://999.1.1.1/", "https://ex ample.com/", "https://example.com/a b",
    "https://example.com/a\nb", " https://example.com/", "https://example.com/ ",
    "https://example.com/\u202e",
    "https://exa\u200bmple.com/", "https://example.com/%", "https://.example.com/", "https://example..com/",
    "https://-a.com/", "https://a_b.com/", "https://example.com/" + "a" * 1981,
    "https://example.com/" + "é" * 1981,
    "https://example", "https://example.com/\x00", "", "example.com",
)

GOOD_TOPIC_NAMES = (
    "C#", "C++", ".NET", "AI/ML", "AI?", "100%", "日本語", "Ω", "-", "_", "--",
    "a" * 200, "é" * 200, "日" * 200,
    "ǅ", "İ", "ß", "AI", "ai", "Ai", "topic", "Topic", "topic-2", "<b>AI</b>", "{{ AI }}", "=SUM(A1)", "null",
    "true", "123", "\U0001f916", "a\u200db", "a b", "'quoted'", '"AI"', MARKUP,
)
BAD_TOPIC_NAMES = (
    "a,b", "a;b", "a, b", ";", ",", " AI", "AI ", "", "   ", "a\tb", "a\nb", "a" * 201, "a\u202eb",
    "a\u200bb",
)

BODIES = (
    "", "\n", "Text after the front matter.\n", "a\x00b\n", "---\n", MARKUP, "\x01\x1b[31m\u202e\n",
    "é" * 200_000,
)
FEATURED_CONTENT = (
    '<iframe src="https://www.youtube.com/embed/WJk-Y8LQlfE"></iframe>',
    '<iframe src="https://www.youtube.com/embed/"></iframe>',
    '<iframe src="https://www.youtube.com/embed/\\"><script>alert(1)</script>"></iframe>',
    '<iframe src="https://www.youtube.com/embed/' + "a" * 5000 + '"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<script>alert(1)</script>",
    MARKUP,
)

# YAML 1.1 spellings of booleans, nulls and numbers, and collections where a scalar belongs.
YAML_BOOLEANS_AND_NULLS = (
    "yes", "No", "on", "OFF", "y", "~", "null", "Null", "NULL", "true", "True", "FALSE",
)
YAML_NUMBERS = (
    "0x7FFFFFFF", "0x80000000", "0o777", "0777", "0b1010", "+42", "-0", "1_000_000", "190:20:30", "-1:00",
    "1e3", "1.5", "-1.5e+3", ".inf", "-.Inf", ".nan", "0.", "2021-01-01", "2021-01-01 10:00:00",
)
YAML_COLLECTIONS = ("{}", "[]", "[1, [2, [3]]]", "{a: {b: {c: 1}}}", "''", '""', "'   '")
# Explicit tags: of the core schema (each with texts its constructor may choke on), and beyond it.
CORE_TAGS = ("!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!seq", "!!map")
OTHER_TAGS = (
    "!!binary", "!!python/name:os.system", "!!python/object/apply:os.system", "!!set", "!!omap", "!custom",
)
TAGGED_TEXTS = (
    "''", "'42'", "'4x2'", "'-'", "'0x'", "'0b'", "'1_'", "'_'", "'1:'", "':'", "'.'", "'e'", "'abc'",
    "'maybe'", "'nonsense'", "'2021-01-01'", "'2021-02-30T00:00:00Z'", "'2021-01-01T00:00:00+99:00'",
    "'9999-12-31T23:00:00-02:00'", "'10000-01-01'", "aGVsbG8=", "[]", "{}", "[a: 1]", "{a, b}",
)

# fmt: on


def insert_at(value: str, char: str, where: int) -> str:
    where = where % (len(value) + 1)
    return value[:where] + char + value[where:]


@st.composite
def odd_string(draw, original, *, limit: int | None = None) -> str:
    """A string at or past its column's length, holding odd characters, or just odd."""
    base = original if isinstance(original, str) and original else "Power Apps"
    kinds = ["kept", "kept", "refused", "at limit", "past limit", "huge", "blank", "text"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("kept", "refused"):
        value = base
        for _ in range(draw(st.integers(1, 2))):
            char = draw(st.sampled_from(KEPT_CHARACTERS if kind == "kept" else REFUSED_CHARACTERS))
            value = insert_at(value, char, draw(st.integers(0, 10_000)))
        return value
    if kind in ("at limit", "past limit"):
        size = (limit or 5000) + (1 if kind == "past limit" else 0)
        return draw(st.sampled_from(LONG_FILLERS)) * size
    if kind == "huge":
        return draw(st.sampled_from(LONG_FILLERS)) * draw(st.sampled_from([100_000, 300_000, 1_100_000]))
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\u00a0", "\t", "\n"]))
    return draw(st.text(max_size=40))


@st.composite
def storable_date(draw):
    """A date and time within a few days of the ends of the calendar that stays inside it in UTC."""
    first, last = dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    edge = draw(st.sampled_from([first, last, dt.datetime(1970, 1, 1, tzinfo=dt.UTC)]))
    seconds = draw(st.integers(0, 3 * 24 * 3600))
    instant = edge + dt.timedelta(seconds=seconds) if edge == first else edge - dt.timedelta(seconds=seconds)
    # The offset may not carry the local time off the calendar either: Python could not hold it.
    offset = dt.timedelta(minutes=draw(st.integers(-23 * 60 - 59, 23 * 60 + 59)))
    try:
        instant + offset
    except OverflowError:
        offset = -offset
    local = instant.astimezone(dt.timezone(offset))
    text = local.isoformat(sep=draw(st.sampled_from(["T", " "])))
    return draw(st.sampled_from([local, Raw(text), text]))


@st.composite
def unstorable_date(draw):
    """A date and time the calendar, a time zone or UTC refuses (year 0 or 10000 in UTC, 30 February)."""
    year = draw(st.sampled_from(["0001", "9999", "0000", "10000", "2021"]))
    month_day = draw(st.sampled_from(["01-01", "12-31", "02-29", "02-30", "13-01", "00-10"]))
    hour = draw(st.sampled_from(["00", "23", "24"]))
    minute = draw(st.sampled_from(["00", "30", "59", "60"]))
    fraction = draw(st.sampled_from(["", ".5", ".9999999"]))
    zone = draw(
        st.sampled_from(
            ["Z", "+01:00", "-01:00", "+14:00", "-12:00", "+23:59", "-23:59", "+24:00", "+99:99", ""]
        )
    )
    separator = draw(st.sampled_from(["T", " ", "t"]))
    text = f"{year}-{month_day}{separator}{hour}:{minute}:00{fraction}{zone}"
    # Unquoted it is a YAML timestamp (when it looks like one); quoted it is a string the format reads too.
    return draw(st.sampled_from([Raw(text), text]))


def storable_integers(minimum: int, maximum: int):
    edges = [minimum, minimum + 1, maximum - 1, maximum, 0]
    inside = [edge for edge in edges if minimum <= edge <= maximum]
    return st.one_of(st.sampled_from(inside), st.integers(minimum, maximum))


def unstorable_integers(minimum: int, maximum: int):
    edges = [minimum - 1, maximum + 1, INT_MIN - 1, INT_MAX + 1, 2**63, -(2**63) - 1, 2**64, 10**30]
    return st.sampled_from(edges)


def any_value():
    """A value of any type, for a key that expects another."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=30),
        st.lists(st.text(max_size=10), max_size=3),
        st.dictionaries(st.text(max_size=8), st.integers(), max_size=2),
        storable_date(),
        unstorable_date(),
        st.sampled_from(YAML_BOOLEANS_AND_NULLS + YAML_NUMBERS + YAML_COLLECTIONS).map(Raw),
        explicit_tag(),
    )


@st.composite
def explicit_tag(draw):
    tag = draw(st.sampled_from(CORE_TAGS + OTHER_TAGS))
    return Raw(f"{tag} {draw(st.sampled_from(TAGGED_TEXTS))}")


def key_of(path: tuple) -> str:
    """The key whose value is at ``path`` (for a list item, the list's key)."""
    for part in reversed(path):
        if isinstance(part, str | Raw):
            return part.text if isinstance(part, Raw) else part
    return ""


def value_for(path: tuple, original):
    """A strategy for a value at ``path``: at the edge of what the key holds, past it, or of another type."""
    key = key_of(path)
    in_list = bool(path) and isinstance(path[-1], int)
    if key == "publishedDateTime":
        at_edge, past_edge = storable_date(), unstorable_date()
    elif key in INT_KEYS:
        low, high = (SCORE_MIN, SCORE_MAX) if key in ("quality", "heat") else (0, INT_MAX)
        at_edge = storable_integers(low, high)
        past_edge = st.one_of(unstorable_integers(low, high), st.sampled_from(YAML_NUMBERS).map(Raw))
    elif key in BOOL_KEYS:
        at_edge = st.booleans()
        past_edge = st.one_of(
            st.sampled_from(YAML_BOOLEANS_AND_NULLS).map(Raw), st.sampled_from(["true", 1, 0])
        )
    elif key.lower().endswith("url"):
        at_edge, past_edge = st.sampled_from(GOOD_URLS), st.sampled_from(BAD_URLS)
        past_edge = st.one_of(past_edge, odd_string(original, limit=LENGTH_OF["url"]))
    elif key == "domain":
        at_edge, past_edge = st.sampled_from(HOST_NAMES), st.sampled_from(NOT_HOST_NAMES)
        past_edge = st.one_of(past_edge, odd_string(original, limit=LENGTH_OF["domain"]))
    elif key == "topics" and in_list:
        at_edge, past_edge = st.sampled_from(GOOD_TOPIC_NAMES), st.sampled_from(BAD_TOPIC_NAMES)
        past_edge = st.one_of(past_edge, odd_string(original, limit=LENGTH_OF["topics"]))
    elif key in ONE_LINE_KEYS | TEXT_KEYS:
        text = odd_string(original, limit=LENGTH_OF.get(key))
        if key == "featuredContent":
            text = st.one_of(text, st.sampled_from(FEATURED_CONTENT))
        return st.one_of(text, text, text, explicit_tag(), any_value())
    else:
        return any_value()
    return st.one_of(at_edge, at_edge, past_edge, explicit_tag(), any_value())


# --------------------------------------------------------------------------- mutations


def field_name(path: tuple) -> str:
    """A path as the format names fields: ``related[3].provider.domain``."""
    name = ""
    for part in path:
        part = part.text if isinstance(part, Raw) else part
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def node_at(data, path: tuple):
    for part in path:
        data = data[part]
    return data


def limits() -> dict[str, int]:
    return {
        "topics": settings.NEWSROOM_MAX_TOPICS_PER_STORY,
        "related": settings.NEWSROOM_MAX_RELATED_PER_STORY,
        "images": settings.NEWSROOM_MAX_IMAGES_PER_LIST,
    }


def flood_items(key: str, current: list, count: int) -> list:
    """``count`` distinct items for the list under ``key``, made from its first item."""
    if key == "topics":
        return [f"Topic {n}" for n in range(count)]
    if key == "images":
        first = (
            current[0] if current and isinstance(current[0], dict) else {"url": "https://img.example/a.jpg"}
        )
        return [{**copy.deepcopy(first), "url": f"https://img.example/{n}.jpg"} for n in range(count)]
    first = (
        current[0]
        if current and isinstance(current[0], dict)
        else {
            "title": "Other coverage",
            "type": "article",
            "provider": {"name": "Other", "domain": "other.example"},
        }
    )
    # Copies, not one shared dict: the dumper would write a shared one as an anchor and aliases.
    return [{**copy.deepcopy(first), "webUrl": f"https://other.example/{n}"} for n in range(count)]


@st.composite
def path_in(draw, data: dict) -> tuple:
    """A path to one value of ``data``: top-level keys most often, nested values too."""
    path: tuple = ()
    node = data
    while True:
        children = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        if not children:
            return path
        path = (*path, draw(st.sampled_from(children)))
        node = node[path[-1]]
        if not isinstance(node, dict | list) or draw(st.booleans()):
            return path


class Case:
    """One mutated file: its origin, what was changed, the fields that names, and its bytes."""

    def __init__(self, *, base: str, changes: list[str], fields: list[str], data: bytes):
        self.base, self.changes, self.fields, self.data = base, changes, fields, data

    def __repr__(self) -> str:
        shown = self.data if len(self.data) < 4000 else f"<{len(self.data):,} bytes>"
        return f"Case(base={self.base!r}, changes={self.changes!r}, data={shown!r})"


_short = Repr()
_short.maxstring = _short.maxother = 80
_short.maxlist = _short.maxdict = 4


def paths_of(data, path: tuple = ()) -> Iterator[tuple]:
    """Every path in ``data``, the root's included."""
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths_of(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths_of(value, (*path, index))


# fmt: off
NEW_KEYS = (
    "fooUrl", "extraUrl", "note", "Title", "webURL", "😀", "a:b", "null", "123", " x", "publishedDateTime ",
)
# fmt: on


@st.composite
def mutate(draw, data: dict) -> tuple[str, str]:
    """Change ``data`` in place once; returns a description and the field it touched."""
    operation = draw(st.sampled_from(["set"] * 6 + ["null", "delete", "add", "flood"]))
    if operation == "add":
        path = draw(st.sampled_from([p for p in paths_of(data) if isinstance(node_at(data, p), dict)]))
        mapping = node_at(data, path)
        plain = [key for key in mapping if isinstance(key, str) and re.fullmatch(r"[A-Za-z]+", key)]
        if plain and draw(st.integers(0, 3)) == 0:
            # The same key twice: a dict cannot hold it, the text can.
            again = draw(st.sampled_from(plain))
            mapping[Raw(again)] = draw(value_for((*path, again), mapping[again]))
            touched = field_name((*path, again))
            return f"{touched!r} again", touched
        new_key = draw(
            st.one_of(
                st.sampled_from(NEW_KEYS),
                st.sampled_from([True, 1, None, 1.5]),
                st.text(min_size=1, max_size=12),
            )
        )
        if new_key in mapping:
            new_key = f"{new_key}-new"
        # A key that is not a string (true, 1, null) is named as the file spells it.
        spelled = new_key if isinstance(new_key, str) else yaml.safe_dump(new_key).split("\n")[0]
        mapping[new_key] = draw(value_for((*path, spelled), None))
        touched = field_name((*path, spelled))
        return f"add {touched!r} = {_short.repr(mapping[new_key])}", touched
    if operation == "flood":
        lists = [p for p in paths_of(data) if p and p[-1] in limits()]
        if lists:
            path = draw(st.sampled_from(lists))
            parent, key = node_at(data, path[:-1]), path[-1]
            count = draw(st.sampled_from([0, 1, limits()[key], limits()[key] + 1]))
            current = parent[key]
            parent[key] = flood_items(key, current if isinstance(current, list) else [], count)
            return f"{count} items in {field_name(path)}", field_name(path)
    path = draw(path_in(data))
    parent, key = node_at(data, path[:-1]), path[-1]
    if operation == "delete":
        del parent[key]
        # Items after a removed one move up: name the list, which holds them all.
        touched = path[:-1] if isinstance(key, int) else path
        return f"delete {field_name(path)}", field_name(touched)
    if operation == "null":
        parent[key] = None
        return f"null {field_name(path)}", field_name(path)
    parent[key] = draw(value_for(path, parent[key]))
    return f"set {field_name(path)} = {_short.repr(parent[key])}", field_name(path)


@st.composite
def mutated_files(draw, root: Path) -> Case:
    with_related, everything = corpus(root)
    # Half the time a file with related links: few files have them, and they carry the most values.
    files = with_related if with_related and draw(st.booleans()) else everything
    base = draw(st.sampled_from(files))
    data = copy.deepcopy(front_matter_of(base))
    changes, fields = [], []
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        change, touched = draw(mutate(data))
        changes.append(change)
        fields.append(touched)
    body = ""
    if draw(st.integers(0, 7)) == 0:
        body = draw(st.sampled_from(BODIES))
        changes.append(f"body {_short.repr(body)}")
        fields.append("body")
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    allow_unicode = draw(st.booleans())
    bom = draw(st.integers(0, 9)) == 0
    if newline != "\n" or not allow_unicode or bom:
        changes.append(f"written with newline={newline!r}, allow_unicode={allow_unicode}, bom={bom}")
    data = dump(data, body=body, newline=newline, allow_unicode=allow_unicode, bom=bom)
    return Case(base=str(base.relative_to(root)), changes=changes, fields=fields, data=data)


# --------------------------------------------------------------------------- the property


def names_a_changed_field(refused: str, changed: list[str]) -> bool:
    def within(inner: str, outer: str) -> bool:
        return inner == outer or inner.startswith((outer + ".", outer + "["))

    top = refused.split(".")[0].split("[")[0]
    if top in IDENTITY_KEYS and any(name.split(".")[0] in IDENTITY_KEYS for name in changed):
        return True
    return any(within(refused, name) or within(name, refused) for name in changed)


def assert_refused_for_a_reason(case: Case, result: FileResult) -> None:
    reason = result.reason
    named = FIELD.search(reason)
    if named is None:
        if LONE_SURROGATE_ESCAPE.search(case.data):
            # The YAML reader refuses the escape before there are any fields.
            assert MALFORMED.match(reason), f"refused without naming a field: {reason!r}"
            return
        assert FILE_REFUSALS.search(reason), f"refused without naming a field: {reason!r}"
        assert len(case.data) > settings.NEWSROOM_MAX_STORY_FILE_BYTES, reason
        return
    assert names_a_changed_field(named.group(1), case.fields), (
        f"refusal names field {named.group(1)!r}, but the file changed {case.fields}: {reason!r}"
    )


class Collected(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def nothing_logged() -> Iterator[None]:
    """Fails if the import or a page logs a warning: an accepted story is never left out or cut short."""
    handler = Collected()
    logger = logging.getLogger("stories")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in handler.records] == []


def get(client: Client, url: str, *, shows: str | None = None) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    body = b"".join(response) if response.streaming else response.content
    text = body.decode("utf-8")
    assert MARKUP not in text, f"{url} shows markup from a story file unescaped"
    if shows is not None:
        assert shows in text, f"{url} does not show {shows}"
    return text


def assert_served(story: Story, *, reader: Client, staff: Client) -> None:
    """Every page that shows a live ``story`` answers 200 and lists it."""
    page = reverse("stories:detail", kwargs={"pk": story.pk})
    absolute = f"{settings.SITE_URL}{page}"
    domain = {"domain": story.provider.domain}
    get(reader, reverse("stories:home"), shows=page)
    get(reader, page)
    get(reader, reverse("stories:provider", kwargs=domain), shows=page)
    for name in ("stories:feed_rss", "stories:feed_atom", "stories:provider_rss", "stories:provider_atom"):
        get(reader, reverse(name, kwargs=domain if "provider" in name else None), shows=absolute)
    for topic in story.topics.all():
        slug = {"slug": topic.slug}
        get(reader, reverse("stories:topic", kwargs=slug), shows=page)
        get(reader, reverse("stories:topic_rss", kwargs=slug), shows=absolute)
        get(reader, reverse("stories:topic_atom", kwargs=slug), shows=absolute)
    get(reader, f"{reverse('stories:search')}?{urlencode({'q': story.title[:100]})}")
    get(reader, reverse("sitemap"))
    for section in SITEMAPS:
        get(reader, reverse("sitemap_section", kwargs={"section": section}))
    get(reader, reverse("sitemap_section", kwargs={"section": "stories"}), shows=absolute)
    change = reverse("admin:stories_story_change", args=[story.pk])
    get(staff, reverse("admin:stories_story_changelist"), shows=change)
    assert_saved_unchanged(story, staff=staff)
    get(staff, reverse("moderation:queue"))


def assert_in_queue(story: Story, *, moderator, staff: Client) -> None:
    """Taken back to review, the story is in the moderation queue, and its pages still answer."""
    workflow.transition(story, action=workflow.UNPUBLISH, actor=moderator)
    get(staff, reverse("moderation:queue"), shows=reverse("moderation:transition", args=[story.pk]))
    get(staff, reverse("admin:stories_story_changelist"))


def assert_saved_unchanged(story: Story, *, staff: Client) -> None:
    """The change page answers, and sent back as a browser sends it, it saves and writes nothing."""
    story = Story.objects.get(pk=story.pk)
    before = export_story(stories_for_export().get(pk=story.pk))
    change = reverse("admin:stories_story_change", args=[story.pk])
    page = get(staff, change)

    # The change form has no file field: browsers send it URL-encoded.
    fields = urlencode(form_data(page, "story_form"), doseq=True)
    response = staff.post(change, fields, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 302, f"the change page did not save: {response.content.decode()[-3000:]}"
    assert Story.objects.get(pk=story.pk).version == story.version
    assert export_story(stories_for_export().get(pk=story.pk)) == before


def import_one(data: bytes, *, actor, path: str = "mutated.md") -> FileResult:
    """``data`` through the import service, as the admin upload sends it (or the command, without actor)."""
    via = ImportRun.Via.COMMAND if actor is None else ImportRun.Via.ADMIN
    report = import_stories([StorySource(path=path, opener=lambda: data)], actor=actor, via=via)
    [result] = report.results
    return result


def publish(story: Story, *, moderator) -> Story:
    if story.state != State.PUBLISHED:
        workflow.transition(story, action=workflow.PUBLISH, actor=moderator)
    return Story.objects.get(pk=story.pk)


@pytest.fixture
def people(moderator, editor, admin_user, settings):
    # Each example runs in a transaction that is rolled back, so the reader version never moves
    # (it moves on commit) while the stories change: the shared page cache is off here.
    settings.NEWSROOM_READER_CACHE_SECONDS = 0
    staff = Client()
    staff.force_login(admin_user)
    return {"moderator": moderator, "editor": editor, "reader": Client(), "staff": staff}


def check_moderator_import(
    case: Case, *, over_original: bool, remote_images: bool, people, root: Path
) -> None:
    moderator, reader, staff = people["moderator"], people["reader"], people["staff"]
    with transaction.atomic(), nothing_logged():
        fallback = "remote" if remote_images else "none"
        with override_settings(NEWSROOM_IMAGE_FALLBACK=fallback):
            if over_original:
                original = import_one((root / case.base).read_bytes(), actor=None, path=case.base)
                assert original.outcome == "created", original.reason

            result = import_one(case.data, actor=moderator)
            event(f"outcome: {result.outcome}")

            if result.outcome == "failed":
                assert_refused_for_a_reason(case, result)
            else:
                assert result.outcome in ("created", "updated", "unchanged"), result
                story = publish(Story.objects.get(pk=result.story_id), moderator=moderator)
                assert_served(story, reader=reader, staff=staff)
                assert_in_queue(story, moderator=moderator, staff=staff)
        transaction.set_rollback(True)


@PROPERTY
@given(case=mutated_files(SEEDS), over_original=st.booleans(), remote_images=st.booleans())
def test_a_mutated_seed_file_is_refused_naming_the_field_or_served_everywhere(
    people, case, over_original, remote_images
):
    check_moderator_import(
        case, over_original=over_original, remote_images=remote_images, people=people, root=SEEDS
    )


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not present beside this checkout")
@hypothesis_settings(PROPERTY, max_examples=40)
@given(case=mutated_files(REALDATA), over_original=st.booleans(), remote_images=st.booleans())
def test_a_mutated_real_file_is_refused_naming_the_field_or_served_everywhere(
    people, case, over_original, remote_images
):
    check_moderator_import(
        case, over_original=over_original, remote_images=remote_images, people=people, root=REALDATA
    )


@hypothesis_settings(PROPERTY, max_examples=25)
@given(case=mutated_files(SEEDS))
def test_an_editors_mutated_upload_of_a_published_story_is_refused_or_held_and_the_site_stays_up(
    people, case
):
    moderator, editor = people["moderator"], people["editor"]
    reader, staff = people["reader"], people["staff"]
    with transaction.atomic(), nothing_logged():
        original = import_one((SEEDS / case.base).read_bytes(), actor=None, path=case.base)
        published = publish(Story.objects.get(pk=original.story_id), moderator=moderator)

        result = import_one(case.data, actor=editor)
        event(f"outcome: {result.outcome}")

        if result.outcome == "failed":
            assert_refused_for_a_reason(case, result)
            story = published
        else:
            assert result.outcome in ("created", "updated", "unchanged", "conflict"), result
            story = Story.objects.get(pk=result.story_id)
        # An editor never takes a story off the site, whatever the file says.
        assert Story.objects.get(pk=published.pk).state == State.PUBLISHED
        story = publish(story, moderator=moderator)
        assert_served(story, reader=reader, staff=staff)
        assert_in_queue(story, moderator=moderator, staff=staff)
        transaction.set_rollback(True)
