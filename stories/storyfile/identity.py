"""Identity of a story: the normalised article URL and its hash."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from .errors import StoryFileError
from .records import StoryRecord


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
