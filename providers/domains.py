"""Provider domains are host names: the one rule for every place a domain is written.

A provider is identified by its domain and has pages at ``/provider/<domain>/``, so a
domain that is not a host name (``micro/soft.com``, ``example.com:8080``, a whole URL)
leaves a provider whose URL cannot be built. Internationalised names are checked with
IDNA 2008 (the ``idna`` package); everything else follows the host name rules: labels
of 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen, at most
253 characters in all once encoded.

Pure: no Django, so the story file format can use it without settings or models.
"""

from __future__ import annotations

import re

import idna

MAX_LENGTH = 253
MAX_LABEL_LENGTH = 63

_LETTERS_DIGITS_HYPHENS = re.compile(r"[a-z0-9-]+")
ONLY_THE_HOST = "give only the host name, e.g. example.com"
_NOT_IN_A_HOST = (("/", "'/'"), ("\\", "'\\'"), ("@", "'@' (user info)"), (":", "':' (a port)"))


class InvalidDomain(ValueError):
    """A domain that is not a host name; the message says why."""


def check_domain(value: str) -> str:
    """``value`` in lower case if it is a host name; raises InvalidDomain saying why otherwise."""
    if not value:
        raise InvalidDomain("is empty")
    if any(char.isspace() for char in value):
        raise InvalidDomain("contains a space or line break")
    if "://" in value:
        raise InvalidDomain(f"is a URL ({ONLY_THE_HOST})")
    for char, what in _NOT_IN_A_HOST:
        if char in value:
            raise InvalidDomain(f"contains {what} ({ONLY_THE_HOST})")
    domain = value.lower()
    encoded = [_label(label) for label in domain.split(".")]
    length = len(".".join(encoded))
    if length > MAX_LENGTH:
        raise InvalidDomain(f"is {length} characters long, the limit is {MAX_LENGTH}")
    return domain


def _label(label: str) -> str:
    """The ASCII form of one label, checked."""
    if not label:
        raise InvalidDomain("has an empty label (a dot at the start or end, or two dots in a row)")
    if label.isascii():
        encoded = label
        if label.startswith("xn--"):
            try:
                idna.ulabel(label)
            except (idna.IDNAError, UnicodeError):
                raise InvalidDomain(f"has an invalid international (xn--) label '{label}'") from None
    else:
        try:
            encoded = idna.alabel(label).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidDomain(f"has a label that is not a valid international name ({exc})") from None
    if len(encoded) > MAX_LABEL_LENGTH:
        raise InvalidDomain(
            f"has a label of {len(encoded)} characters ('{label[:20]}…'), the limit is {MAX_LABEL_LENGTH}"
        )
    if not _LETTERS_DIGITS_HYPHENS.fullmatch(encoded):
        bad = next(char for char in encoded if not _LETTERS_DIGITS_HYPHENS.fullmatch(char))
        raise InvalidDomain(f"contains {bad!r}: a host name holds only letters, digits, hyphens and dots")
    if encoded.startswith("-") or encoded.endswith("-"):
        raise InvalidDomain(f"has a label that starts or ends with a hyphen ('{label}')")
    return encoded
