"""Rules for single values that the format and the admin forms share.

Each rule returns why a value is refused (a phrase that follows the field's name, e.g.
``contains U+202E RIGHT-TO-LEFT OVERRIDE ...`` or ``URL is not valid``) or None. The format raises it as a
StoryFileError; ``stories.validators`` raises it as a ValidationError for the admin,
so an importer and an editor are refused the same values in the same words.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

# Topic names travel joined in one text field: the moderation queue's topics input and
# a spreadsheet's topics column. A name holding the separator would come back as two.
QUEUE_TOPIC_SEPARATOR = ","
SPREADSHEET_TOPIC_SEPARATOR = ";"
TOPIC_SEPARATORS = {
    QUEUE_TOPIC_SEPARATOR: "the moderation queue",
    SPREADSHEET_TOPIC_SEPARATOR: "spreadsheets",
}

# Characters that reorder the text around them (bidirectional embeddings, overrides and
# isolates: "txt.exe" can be shown as "exe.txt") or are invisible without serving any
# script (zero-width space, word joiner, invisible operators, deprecated format
# controls, a byte order mark inside text, tag characters that can smuggle hidden text).
# Zero-width joiner and non-joiner are allowed: Persian, Indic scripts and emoji sequences
# need them; so are the left-to-right and right-to-left marks, which only nudge neutral
# characters and never hide or reorder words. As regular expression character ranges:
# one-line texts refuse them here, and the reader site strips them from whatever it shows
# (``stories.templatetags.reader.plain_text``), older rows and multi-line texts included.
REORDERING_CHARACTERS = "\u202a-\u202e\u2066-\u2069"
INVISIBLE_CHARACTERS = "\u200b\u2060-\u2064\u206a-\u206f\ufeff\U000e0000-\U000e007f"
# A one-line field holds no line breaks, tabs or other control characters.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_REORDERING = re.compile(f"[{REORDERING_CHARACTERS}]")
_REFUSED = re.compile(f"[{REORDERING_CHARACTERS}{INVISIBLE_CHARACTERS}\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line_problem(value: str) -> str | None:
    """Why ``value`` cannot be a one-line text (title, name, topic), or None."""
    match = _REFUSED.search(value)
    if match is None:
        return None
    char = match.group()
    name = unicodedata.name(char, "CONTROL CHARACTER")
    where = f"U+{ord(char):04X} {name} at character {match.start() + 1}"
    if _CONTROL.fullmatch(char):
        return f"contains a line break or control character ({where}); it must be one line of text"
    if _REORDERING.fullmatch(char):
        return f"contains {where}, which reorders the text around it; remove it"
    return f"contains the invisible {where}; remove it"


def topic_name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a topic name, or None."""
    if not value.strip():
        return "must not be empty"
    if value != value.strip():
        return "must not start or end with a space"
    for separator, where in TOPIC_SEPARATORS.items():
        if separator in value:
            return f"must not contain '{separator}', which separates topic names in {where}"
    return one_line_problem(value)


_URL_VALIDATOR = URLValidator(schemes=["http", "https"])
_WHITESPACE = re.compile(r"\s")


# A batch repeats many URLs (provider logos above all), and Django's validator is the
# dearest check a file goes through.
@functools.lru_cache(maxsize=8192)
def url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL that every part of the site accepts, or None.

    Django's URLValidator is part of the rule because the admin's URL fields apply it:
    a URL the importer took but the admin refused would make the story unsaveable.
    """
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "URL is not valid"
    if parts.scheme.lower() not in ("http", "https"):
        if not parts.scheme:
            return "URL has no scheme (only http and https are allowed)"
        return f"URL scheme '{parts.scheme}' is not allowed (only http and https)"
    if not parts.netloc:
        return "URL is not valid: it names no host"
    if value != value.strip():
        return "URL starts or ends with a space"
    if _WHITESPACE.search(value):
        return "URL contains a space or line break (write a space as %20)"
    hidden = one_line_problem(value)
    if hidden:  # Django's validator takes any non-ASCII character in a host name
        return f"URL {hidden}"
    try:
        _URL_VALIDATOR(value)
    except ValidationError:
        return "URL is not valid"
    return None
