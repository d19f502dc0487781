"""RSS and Atom feeds of live stories: all, per topic, per provider (django.contrib.syndication)."""

from __future__ import annotations

import html

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from ..models import Story, StoryTopic
from ..templatetags.reader import plain_text, shown_story_topics
from .filters import live_providers, live_topics
from .views import TOPICS_PER_CARD

FEED_SIZE = 50


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


class NotAfterNow:
    """A feed is built now: a story dated in the future (up to 31 December 9999) does not date it later."""

    def latest_post_date(self):
        return min(super().latest_post_date(), timezone.now())


class RssFeed(NotAfterNow, Rss201rev2Feed):
    pass


class AtomFeed(NotAfterNow, Atom1Feed):
    pass


class LatestStoriesRss(Feed):
    """All live stories, newest first."""

    feed_type = RssFeed
    title = "Newsroom: latest stories"
    description = "Curated news stories, newest first."
    url_name = "stories:home"
    feed_url_name = "stories:feed_rss"

    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        # The syndication view dates the feed by its newest item; a story
        # expiring or being withdrawn changes the feed without changing that.
        # The reader-wide validators (conditional.reader_conditional) cover both.
        response.headers.pop("Last-Modified", None)
        return response

    def link(self, obj=None) -> str:
        return absolute(reverse(self.url_name))

    def feed_url(self, obj=None) -> str:
        return absolute(reverse(self.feed_url_name))

    def subtitle(self, obj=None) -> str:
        return self.description

    def stories(self, obj) -> QuerySet:
        return Story.objects.live()

    def items(self, obj=None) -> list[Story]:
        stories = self.stories(obj).with_cards(topic_limit=TOPICS_PER_CARD)
        return list(stories.in_reader_order()[:FEED_SIZE])

    # A title is text (Atom says so; RSS readers treat it so): the feed's XML escapes it once.
    def item_title(self, item: Story) -> str:
        return plain_text(item.title)

    # A description is HTML in both formats: our text escaped, so that no markup of the file survives.
    # Quotes need no escaping in element content, and escaping them would only show as "&#x27;".
    def item_description(self, item: Story) -> str:
        return html.escape(plain_text(item.excerpt), quote=False)

    def item_link(self, item: Story) -> str:
        return absolute(item.get_absolute_url())

    def item_guid(self, item: Story) -> str:
        return absolute(item.get_absolute_url())

    def item_pubdate(self, item: Story):
        return item.published_at or item.created_at

    def item_updateddate(self, item: Story):
        return item.updated_at

    def item_author_name(self, item: Story) -> str:
        return plain_text(item.provider.name)

    def item_categories(self, item: Story) -> list[str]:
        return [plain_text(topic.name) for topic in shown_story_topics(item)[0]]


class LatestStoriesAtom(LatestStoriesRss):
    feed_type = AtomFeed
    feed_url_name = "stories:feed_atom"


class ListingStoriesRss(LatestStoriesRss):
    """The live stories of one topic or provider; ``url_kwargs`` names it in the listing's and feed's URLs."""

    def url_kwargs(self, obj) -> dict[str, str]:
        raise NotImplementedError

    def subtitle(self, obj) -> str:
        return self.description(obj)

    def link(self, obj) -> str:
        return absolute(reverse(self.url_name, kwargs=self.url_kwargs(obj)))

    def feed_url(self, obj) -> str:
        return absolute(reverse(self.feed_url_name, kwargs=self.url_kwargs(obj)))


class TopicStoriesRss(ListingStoriesRss):
    url_name = "stories:topic"
    feed_url_name = "stories:topic_rss"

    def get_object(self, request, slug: str):
        return get_object_or_404(live_topics(), slug=slug)

    def url_kwargs(self, obj) -> dict[str, str]:
        return {"slug": obj.slug}

    def title(self, obj) -> str:
        return f"Newsroom: {plain_text(obj.name)}"

    def description(self, obj) -> str:
        return f"Curated news stories about {plain_text(obj.name)}, newest first."

    def stories(self, obj) -> QuerySet:
        return Story.objects.live().filter(
            pk__in=StoryTopic.objects.filter(topic=obj).values("story_id")
        )


class TopicStoriesAtom(TopicStoriesRss):
    feed_type = AtomFeed
    feed_url_name = "stories:topic_atom"


class ProviderStoriesRss(ListingStoriesRss):
    url_name = "stories:provider"
    feed_url_name = "stories:provider_rss"

    def get_object(self, request, domain: str):
        return get_object_or_404(live_providers(), domain__iexact=domain)

    def url_kwargs(self, obj) -> dict[str, str]:
        return {"domain": obj.domain}

    def title(self, obj) -> str:
        return f"Newsroom: stories from {plain_text(obj.name)}"

    def description(self, obj) -> str:
        return f"Curated news stories from {plain_text(obj.name)} ({plain_text(obj.domain)}), newest first."

    def stories(self, obj) -> QuerySet:
        return Story.objects.live().filter(provider=obj)


class ProviderStoriesAtom(ProviderStoriesRss):
    feed_type = AtomFeed
    feed_url_name = "stories:provider_atom"
