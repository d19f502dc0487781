"""The story file format: parse, validate and dump.

A story file is YAML front matter between two ``---`` lines, optionally followed
by a body. This package is the only place that touches raw YAML: it turns the
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
outright (alias bombs), and every URL must be http(s) or null. ``load_yaml`` reads other
YAML the site accepts (spreadsheets) under the same rules.

Only values the site can store and show get through: dates whose UTC value lies in
years 1 to 9999, integers and strings that fit their columns (``limits.py``),
provider domains that are host names (``providers.domains``), topic names without
the separators of the queue and spreadsheets, one-line texts without controls that
reorder or hide text, URLs the admin's URL fields accept too (``rules.py``), and at
most ``NEWSROOM_MAX_TOPICS_PER_STORY`` topics, ``NEWSROOM_MAX_RELATED_PER_STORY``
related links and ``NEWSROOM_MAX_IMAGES_PER_LIST`` images in one list.
"""

from __future__ import annotations

from .dump import dump_story
from .errors import StoryFileError
from .identity import identity_key_for, identity_url_for, normalise_url
from .jsonform import decode_value, encode_value, record_from_json, record_to_json
from .limits import (
    DEFAULT_MAX_BYTES,
    ID_MAX,
    INT_MAX,
    INT_MIN,
    MAX_LENGTH,
    SCORE_MAX,
    SCORE_MIN,
    FileLimits,
)
from .parse import parse_story
from .records import (
    CANONICAL_ORDER,
    DEFAULT_BLANK_BEFORE,
    ImageRecord,
    ProviderRecord,
    RelatedRecord,
    StoryRecord,
    with_key,
)
from .rules import (
    INVISIBLE_CHARACTERS,
    QUEUE_TOPIC_SEPARATOR,
    REORDERING_CHARACTERS,
    SPREADSHEET_TOPIC_SEPARATOR,
    TOPIC_SEPARATORS,
    one_line_problem,
    topic_name_problem,
    url_problem,
)
from .safe_yaml import MAX_DEPTH, load_yaml
from .values import check_url

__all__ = [
    "CANONICAL_ORDER",
    "DEFAULT_BLANK_BEFORE",
    "DEFAULT_MAX_BYTES",
    "ID_MAX",
    "INT_MAX",
    "INVISIBLE_CHARACTERS",
    "INT_MIN",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "QUEUE_TOPIC_SEPARATOR",
    "REORDERING_CHARACTERS",
    "SCORE_MAX",
    "SCORE_MIN",
    "SPREADSHEET_TOPIC_SEPARATOR",
    "TOPIC_SEPARATORS",
    "FileLimits",
    "ImageRecord",
    "ProviderRecord",
    "RelatedRecord",
    "StoryFileError",
    "StoryRecord",
    "check_url",
    "decode_value",
    "dump_story",
    "encode_value",
    "identity_key_for",
    "identity_url_for",
    "load_yaml",
    "normalise_url",
    "one_line_problem",
    "parse_story",
    "record_from_json",
    "record_to_json",
    "topic_name_problem",
    "url_problem",
    "with_key",
]
