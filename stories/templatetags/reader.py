"""Template helpers for the reader site: safe text and links, absolute URLs, embeds, pagination.

A page never fails because one row is odd: a provider or topic whose URL cannot
be built is shown without its link, and the story is logged with the reason.
"""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.http import QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString

from stories.reader.search import MARK_START, MARK_STOP
from stories.storyfile import INVISIBLE_CHARACTERS, REORDERING_CHARACTERS

register = template.Library()
logger = logging.getLogger("stories.reader")

# What the story format refuses in one-line texts because it reorders or hides text
# (``storyfile.rules``), and control characters, which XML (the feeds) cannot carry at
# all, are stripped from every title, excerpt and name shown; tabs and line breaks stay.
_INVISIBLE = re.compile(f"[{REORDERING_CHARACTERS}{INVISIBLE_CHARACTERS}\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MARKERS = re.compile(f"([{MARK_START}{MARK_STOP}])")

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
def plain_text(value: object) -> str:
    """Text as readers see it: HTML entities (``&#8217;``, ``&amp;``) decoded and invisible controls
    removed. Every title, excerpt and provider or topic name goes through it; still escaped on output."""
    return _INVISIBLE.sub("", html.unescape(str(value or "")))


@register.filter
def marked(value: object) -> SafeString:
    """Search highlighting as HTML: the text between markers (``reader.search``) as ``plain_text``,
    escaped; only then the markers become ``<mark>``, always balanced."""
    parts, open_mark = [], False
    for piece in _MARKERS.split(str(value or "")):
        if piece == MARK_START and not open_mark:
            parts.append("<mark>")
            open_mark = True
        elif piece == MARK_STOP and open_mark:
            parts.append("</mark>")
            open_mark = False
        elif piece not in (MARK_START, MARK_STOP):
            parts.append(escape(plain_text(piece)))
    if open_mark:
        parts.append("</mark>")
    return SafeString("".join(parts))


def provider_path(provider) -> str:
    """The provider's reader page, or '' when its domain cannot make one."""
    try:
        return reverse("stories:provider", kwargs={"domain": provider.domain})
    except NoReverseMatch:
        return ""


def topic_path(topic) -> str:
    """The topic's reader page, or '' when its slug cannot make one."""
    try:
        return reverse("stories:topic", kwargs={"slug": topic.slug})
    except NoReverseMatch:
        return ""


@register.simple_tag
def provider_link(story) -> SafeString:
    """The story's provider name, linked to the provider's page when there can be one."""
    provider = story.provider
    path = provider_path(provider)
    if not path:
        logger.warning(
            "story %s: provider %s has a domain without a reader page (%r); shown without its link",
            story.pk, provider.pk, provider.domain,
        )
        return format_html("{}", plain_text(provider.name))
    return format_html('<a href="{}">{}</a>', path, plain_text(provider.name))


def shown_story_topics(story) -> tuple[list, int]:
    """The story's topics a page shows (those prefetched by ``with_cards(topic_limit=…)``) and how many
    more it has."""
    shown = getattr(story, "shown_story_topics", None)
    if shown is None:
        shown = list(story.story_topics.all())
    total = getattr(shown[0], "topic_total", len(shown)) if shown else 0
    return [story_topic.topic for story_topic in shown], total - len(shown)


@register.filter
def topics_shown(story) -> list:
    return shown_story_topics(story)[0]


@register.simple_tag
def topic_tags(story) -> SafeString:
    """The story's topics as links, the first few only, with the count of the rest."""
    topics, more = shown_story_topics(story)
    if not topics:
        return SafeString("")
    items = []
    for topic in topics:
        path = topic_path(topic)
        if not path:
            logger.warning(
                "story %s: topic %s has a slug without a reader page (%r); shown without its link",
                story.pk, topic.pk, topic.slug,
            )
        items.append((path, plain_text(topic.name)))
    links = format_html_join(
        "",
        "<li>{}</li>",
        ((format_html('<a href="{}">{}</a>', path, name) if path else name,) for path, name in items),
    )
    rest = format_html('<li class="tags__more">and {} more</li>', more) if more > 0 else ""
    return format_html('<ul class="tags" aria-label="Topics">{}{}</ul>', links, rest)
