"""sitemap.xml: live stories, and the topic and provider pages that have any."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max, QuerySet
from django.urls import reverse

from ..models import Story
from ..templatetags.reader import provider_path, topic_path
from .filters import live_providers, live_topics

logger = logging.getLogger("stories.reader")


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


class StorySitemap(PublicSiteSitemap):
    changefreq = "daily"
    limit = 2000

    def items(self):
        return Story.objects.live().only("pk", "updated_at").order_by("-published_at", "-id")

    def lastmod(self, story: Story):
        return story.updated_at


class HomeSitemap(PublicSiteSitemap):
    changefreq = "hourly"
    priority = 1.0

    def items(self) -> list[str]:
        return ["stories:home"]

    def location(self, item: str) -> str:
        return reverse(item)

    def lastmod(self, item: str):
        return Story.objects.live().aggregate(latest=Max("updated_at"))["latest"]


class ListingSitemap(PublicSiteSitemap):
    """The reader pages of topics or providers with live stories (those whose page can be built)."""

    changefreq = "daily"

    def __init__(self, *, listed: Callable[[], QuerySet], path: Callable[[object], str], what: str) -> None:
        self.listed, self.path, self.what = listed, path, what

    def items(self):
        return with_pages(self.listed(), self.path, self.what)

    def location(self, item) -> str:
        return self.path(item)


SITEMAPS = {
    "home": HomeSitemap,
    "stories": StorySitemap,
    "topics": ListingSitemap(listed=lambda: live_topics().order_by("slug"), path=topic_path, what="topic"),
    "providers": ListingSitemap(
        listed=lambda: live_providers().order_by("domain"), path=provider_path, what="provider"
    ),
}
