"""sitemap.xml: live stories, and the topic and provider pages that have any."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from .filters import live_providers, live_topics
from .models import Story
from .templatetags.reader import provider_path, topic_path

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


class TopicSitemap(PublicSiteSitemap):
    changefreq = "daily"

    def items(self):
        return with_pages(live_topics().order_by("slug"), topic_path, "topic")

    def location(self, topic) -> str:
        return topic_path(topic)


class ProviderSitemap(PublicSiteSitemap):
    changefreq = "daily"

    def items(self):
        return with_pages(live_providers().order_by("domain"), provider_path, "provider")

    def location(self, provider) -> str:
        return provider_path(provider)


SITEMAPS = {
    "home": HomeSitemap,
    "stories": StorySitemap,
    "topics": TopicSitemap,
    "providers": ProviderSitemap,
}
