"""The shared cache of reader pages: listings, search, feeds and sitemaps, rendered once per
reader version and query.

- A page reads only the parameters it declares (``canonical_query``): anything else
  (``?utm_source=x``) is dropped, empty values too, before the page is rendered. The key is
  the reader version (``version``), the address and that canonical query, so every request
  that shares a key gets what the page would render for it.
- Only requests without a session cookie read or fill the cache: readers have no session;
  staff pages are rendered for them and never stored.
- Only plain 200 responses are stored: none that sets a cookie, varies on one, is private or
  holds a CSRF token (a form's token is its reader's own).
- A change readers can see moves the version: entries of older versions are never read again
  and expire (``NEWSROOM_READER_CACHE_SECONDS``; 0 turns the page cache off).
- A cache that cannot be reached answers as an empty one (``newsroom.cache``): pages are
  rendered as without it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.cache import cc_delim_re, has_vary_header

from .conditional import reader_conditional, reader_version

NOT_SHARED = {"private", "no-store", "no-cache"}


def canonical_query(query: QueryDict, params: Iterable[str]) -> QueryDict:
    """``query`` with only ``params``, in a fixed order, each value's spaces collapsed, empty ones
    dropped (a page that reads no parameter gets an empty query)."""
    pairs = []
    for key in sorted(set(params) & set(query)):
        values = [" ".join(value.split()) for value in query.getlist(key)]
        pairs += [(key, value) for value in dict.fromkeys(values) if value]
    return QueryDict(urlencode(pairs))


def page_key(request: HttpRequest) -> str:
    """The cache key of the page ``request`` asks for, once its query is canonical."""
    address = f"{request.scheme}://{request.get_host()}{request.path}?{request.GET.urlencode()}"
    digest = hashlib.sha256(address.encode()).hexdigest()
    return f"reader-page:{reader_version(request).etag}:{digest}"


def shared_request(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and settings.NEWSROOM_READER_CACHE_SECONDS > 0
    )


def storable(request: HttpRequest, response: HttpResponse) -> bool:
    control = {
        part.split("=")[0].strip().lower()
        for part in cc_delim_re.split(response.get("Cache-Control", ""))
        if part
    }
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not has_vary_header(response, "Cookie")
        and not control & NOT_SHARED
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def _store(key: str, request: HttpRequest, response: HttpResponse) -> None:
    if storable(request, response):
        cache.set(key, response, settings.NEWSROOM_READER_CACHE_SECONDS)


def cached_page(params: Iterable[str] = ()) -> Callable:
    """A view decorator: the page read from the shared cache, or rendered from the canonical
    query (only ``params``) and stored. Put it inside ``conditional.reader_conditional``."""
    params = tuple(params)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            request.GET = canonical_query(request.GET, params)
            if not shared_request(request):
                return view(request, *args, **kwargs)
            key = page_key(request)
            cached = cache.get(key)
            if cached is not None:
                return cached
            response = view(request, *args, **kwargs)
            if getattr(response, "is_rendered", True):
                _store(key, request, response)
            else:
                response.add_post_render_callback(lambda rendered: _store(key, request, rendered))
            return response

        return wrapped

    return decorator


def reader_page(view: Callable, *, params: Iterable[str] = ()) -> Callable:
    """``view`` as a reader page: validators from the reader version, then the shared cache."""
    return reader_conditional(cached_page(params)(view))
