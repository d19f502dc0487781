"""sitemap.xml: live stories, and the topic and provider pages that have any.

Valid for millions of stories: ``/sitemap.xml`` is an index of section files of at most
``URLS_PER_SITEMAP`` locations each. A section's N-th file holds the N-th range of
``URLS_PER_SITEMAP`` ids that has anything in it (``IdRangePaginator``): finding the files
takes one index probe per file, and a file is one range scan, never a count or an OFFSET.
A story keeps its file as others come and go. The latest lastmod is the newest change of a
live story, read from the top of an index (``latest_live_change``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import QuerySet
from django.urls import reverse

from ..models import Story
from ..templatetags.reader import provider_path, topic_path
from .filters import live_providers, live_topics

logger = logging.getLogger("stories.reader")

URLS_PER_SITEMAP = 50_000


def latest_live_change() -> datetime | None:
    """When a live story last changed (the partial index on ``updated_at`` has it first)."""
    return Story.objects.live().order_by("-updated_at").values_list("updated_at", flat=True).first()


@dataclass(frozen=True)
class SitemapPage:
    object_list: list


class IdRangePaginator:
    """A sitemap section's files: the N-th is the N-th range of ``width`` ids holding any of ``items``."""

    def __init__(self, items: QuerySet, width: int, *, shown: Callable[[list], list]) -> None:
        self.items, self.width, self.shown = items, width, shown

    def range_starts(self, *, limit: int | None = None) -> list[int]:
        """The ids just below the ranges that hold items (up to ``limit`` ranges): one probe each."""
        starts: list[int] = []
        floor = 0
        while limit is None or len(starts) < limit:
            first = self.items.filter(pk__gt=floor).order_by("pk").values_list("pk", flat=True).first()
            if first is None:
                break
            start = (first - 1) // self.width * self.width
            starts.append(start)
            floor = start + self.width
        return starts

    @property
    def num_pages(self) -> int:
        return len(self.range_starts())

    def page(self, number) -> SitemapPage:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(number) from None
        if number < 1:
            raise EmptyPage(number)
        starts = self.range_starts(limit=number)
        if len(starts) < number:
            if number == 1:
                return SitemapPage([])
            raise EmptyPage(number)
        start = starts[number - 1]
        in_range = self.items.filter(pk__gt=start, pk__lte=start + self.width).order_by("pk")
        return SitemapPage(self.shown(list(in_range)))


def with_pages(items, path, what: str) -> list:
    """The items that have a reader page; the others are logged and left out."""
    kept = []
    for item in items:
        if path(item):
            kept.append(item)
        else:
            logger.warning("%s %s has no reader page; left out of the sitemap", what, item.pk)
    return kept


class PublicSiteSitemap(Sitemap):
    """Locations on ``settings.SITE_URL``, like canonical links, whatever host asked."""

    def get_protocol(self, protocol=None) -> str:
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None) -> str:
        parts = urlsplit(settings.SITE_URL)
        return f"{parts.netloc}{parts.path}"


class RangedSitemap(PublicSiteSitemap):
    """A section whose ``items()`` is a queryset, in files of ranges of ids."""

    limit = URLS_PER_SITEMAP

    @property
    def paginator(self) -> IdRangePaginator:
        return IdRangePaginator(self.items(), self.limit, shown=self.shown)

    def shown(self, items: list) -> list:
        return items


class StorySitemap(RangedSitemap):
    changefreq = "daily"

    def items(self) -> QuerySet:
        return Story.objects.live().only("pk", "updated_at")

    def lastmod(self, story: Story):
        return story.updated_at

    def get_latest_lastmod(self):
        return latest_live_change()


class HomeSitemap(PublicSiteSitemap):
    changefreq = "hourly"
    priority = 1.0

    def items(self) -> list[str]:
        return ["stories:home"]

    def location(self, item: str) -> str:
        return reverse(item)

    def lastmod(self, item: str):
        return latest_live_change()


class ListingSitemap(RangedSitemap):
    """The reader pages of topics or providers with live stories (those whose page can be built)."""

    changefreq = "daily"

    def __init__(self, *, listed: Callable[[], QuerySet], path: Callable[[object], str], what: str) -> None:
        self.listed, self.path, self.what = listed, path, what

    def items(self) -> QuerySet:
        return self.listed()

    def shown(self, items: list) -> list:
        return with_pages(items, self.path, self.what)

    def location(self, item) -> str:
        return self.path(item)


SITEMAPS = {
    "home": HomeSitemap,
    "stories": StorySitemap,
    "topics": ListingSitemap(listed=live_topics, path=topic_path, what="topic"),
    "providers": ListingSitemap(listed=live_providers, path=provider_path, what="provider"),
}
