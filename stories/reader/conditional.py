"""Conditional GET for reader pages, answered before anything is rendered.

- Listings, search, feeds and sitemaps (``reader_conditional``): one ETag and Last-Modified
  for everything readers can see, the reader version (``version``). Constant time: a cache
  read, or one query when the cache is cold; no query over the stories.
- The story page (``story_conditional``): the story's own version (its ``updated_at``, which
  every write of a live story moves) and the shared part of the reader version (its topics'
  and provider's names, cached images). One query for the story, none for the rest when the
  cache is warm. A story readers cannot see gets no validators: staff previews are rendered.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.http import HttpRequest
from django.views.decorators.http import condition

from ..models import Story
from . import version as reader_versions
from .version import Version


def reader_version(request: HttpRequest) -> Version:
    """The reader version, read once per request (the page is rendered after it is read)."""
    cached = getattr(request, "_reader_version", None)
    if cached is None:
        cached = request._reader_version = reader_versions.current()
    return cached


def reader_etag(request: HttpRequest, *args, **kwargs) -> str:
    return reader_version(request).etag


def reader_last_modified(request: HttpRequest, *args, **kwargs) -> datetime:
    return reader_version(request).changed_at


reader_conditional = condition(etag_func=reader_etag, last_modified_func=reader_last_modified)


def story_updated_at(request: HttpRequest, pk) -> datetime | None:
    """When the live story ``pk`` last changed; None if readers cannot see it."""
    if not hasattr(request, "_story_updated_at"):
        request._story_updated_at = (
            Story.objects.live().filter(pk=pk).values_list("updated_at", flat=True).first()
        )
    return request._story_updated_at


def story_etag(request: HttpRequest, pk, *args, **kwargs) -> str | None:
    updated_at = story_updated_at(request, pk)
    if updated_at is None:
        return None
    version = reader_version(request)
    raw = f"{version.token}|{pk}|{updated_at.isoformat()}|{version.shared}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def story_last_modified(request: HttpRequest, pk, *args, **kwargs) -> datetime | None:
    updated_at = story_updated_at(request, pk)
    if updated_at is None:
        return None
    return max(updated_at, reader_version(request).shared_changed_at)


story_conditional = condition(etag_func=story_etag, last_modified_func=story_last_modified)
