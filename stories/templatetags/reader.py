"""Template helpers for the reader site: safe links, absolute URLs, embeds, pagination."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.http import QueryDict

register = template.Library()

# The only featuredContent we ever turn into markup: a bare YouTube embed iframe.
# We keep nothing of the source but the 11-character video id and build the
# iframe ourselves; anything else in the HTML is ignored.
_YOUTUBE_IFRAME = re.compile(
    r"""\A\s*<iframe\b[^<>]*?\ssrc=(["'])https://www\.youtube(?:-nocookie)?\.com/embed/"""
    r"""(?P<id>[A-Za-z0-9_-]{11})(?:\?[A-Za-z0-9_=&;%.-]*)?\1[^<>]*>\s*</iframe>\s*\Z""",
    re.IGNORECASE,
)


def http_url(value: object) -> str:
    """``value`` if it is an absolute http(s) URL with a host, else an empty string."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if any(ord(char) < 33 for char in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return ""
    return url


def youtube_video_id(html: str | None) -> str:
    match = _YOUTUBE_IFRAME.match(html or "")
    return match.group("id") if match else ""


@register.filter
def safe_url(value: object) -> str:
    """Only http and https URLs may become links or image sources; anything else becomes ''."""
    return http_url(value)


@register.filter
def youtube_id(html: str | None) -> str:
    return youtube_video_id(html)


@register.simple_tag
def absolute_url(path: str = "") -> str:
    """``path`` on the public site (``settings.SITE_URL``)."""
    return f"{settings.SITE_URL}{path}"


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None drops one)."""
    request = context.get("request")
    query: QueryDict = request.GET.copy() if request is not None else QueryDict(mutable=True)
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def lead_image(story) -> object | None:
    """The story's first lead image, from the prefetched images (no query)."""
    images = list(story.images.all())
    for image in images:
        if image.role == "lead":
            return image
    return None


@register.filter
def plain_text(value: object) -> str:
    """Imported text with its HTML entities (``&#8217;``, ``&amp;``) decoded; still escaped on output."""
    return html.unescape(str(value or ""))
