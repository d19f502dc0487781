"""The reader site: listings, topic and provider pages, search and the story page.

Readers only ever see live stories (``Story.objects.live()``). Staff who may
view stories can open any story at its URL, as a clearly marked preview that
is neither cached nor indexed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views.generic import DetailView
from django_filters.views import FilterView

from ..models import RelatedLink, Story, StoryTopic, readable_dates
from ..models.orders import READER_ORDERS, ReaderOrder
from ..templatetags.reader import plain_text
from .caching import cached_page
from .conditional import reader_conditional, reader_version, story_conditional
from .filters import ReaderFilter, live_providers, live_topics
from .pagination import COUNT_LIMIT, PAGE_PARAMETERS, PAGE_SIZE, Listing
from .search import attach_highlights, candidate_limit, normalise_query

# Reader pages never show an unbounded list: a story's topics on a card and on its page,
# and its related coverage, stop here with a count of the rest.
TOPICS_PER_CARD = 6
TOPICS_PER_STORY = 20
COVERAGE_PER_STORY = 30
# What a listing reads of its query (its filters and the page); anything else is ignored, by the
# page and by its cache key (caching.canonical_query).
LISTING_PARAMS = (*ReaderFilter.base_filters, *PAGE_PARAMETERS)


class ReaderQuerysetMixin:
    """Live stories for readers; every story for staff allowed to preview, where a view allows it."""

    allow_preview = False
    preview_permission = "stories.view_story"
    topic_limit = TOPICS_PER_CARD
    request: HttpRequest

    def can_preview(self) -> bool:
        user = self.request.user
        return self.allow_preview and user.is_staff and user.has_perm(self.preview_permission)

    def get_queryset(self) -> QuerySet:
        stories = Story.objects.readable() if self.can_preview() else Story.objects.live()
        return stories.with_cards(topic_limit=self.topic_limit)


@method_decorator([reader_conditional, cached_page(LISTING_PARAMS)], name="get")
class StoryListView(ReaderQuerysetMixin, FilterView):
    """Home: live stories, newest first (or hot, or top), with the reader filters."""

    filterset_class = ReaderFilter
    template_name = "stories/story_list.html"
    context_object_name = "stories"
    paginate_by = PAGE_SIZE
    page_kind = "home"
    hidden_filters: tuple[str, ...] = ()

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        for name in self.hidden_filters:
            filterset.filters.pop(name, None)
        return filterset

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().in_reader_order()

    def filter_data(self) -> dict:
        filterset = self.filterset
        return filterset.form.cleaned_data if filterset.is_bound and filterset.is_valid() else {}

    def listing_order(self) -> ReaderOrder | None:
        """The order the listing is in: the one asked for, else newest first, or relevance for a search."""
        data = self.filter_data()
        if data.get("sort"):
            return READER_ORDERS[data["sort"]]
        return None if normalise_query(data.get("q")) else READER_ORDERS["new"]

    def paginate_queryset(self, queryset, page_size):
        # A search counts no further than its candidates (search.candidate_limit).
        limit = candidate_limit() if normalise_query(self.filter_data().get("q")) else COUNT_LIMIT
        listing = Listing(queryset, order=self.listing_order(), params=self.request.GET, count_limit=limit)
        page = listing.page()
        return None, page, page.stories, page.has_other_pages

    def render_to_response(self, context, **response_kwargs) -> HttpResponse:
        if context["page_obj"].missing:
            response_kwargs["status"] = 404
        return super().render_to_response(context, **response_kwargs)

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        data = self.filter_data()
        active = {key: value for key, value in data.items() if value not in (None, "", []) and key != "sort"}
        query = normalise_query(self.request.GET.get("q"))
        sort = data.get("sort") or ""
        if query:
            attach_highlights(context["stories"], query)
        context.update(
            page_kind=self.page_kind,
            heading=self.get_heading(query=query, sort=sort),
            query=query,
            search_prompt=self.page_kind == "search" and not query,
            filters_active=bool(active),
            sort=sort,
            feeds=self.get_feeds(),
            filters_cache_key=self.filters_cache_key(),
        )
        return context

    def filters_cache_key(self) -> str:
        """The filter form's rendering depends only on the live set, the page and the query (not its page)."""
        query = sorted(
            (key, value)
            for key, values in self.request.GET.lists()
            for value in values
            if key not in PAGE_PARAMETERS
        )
        raw = repr((reader_version(self.request).etag, self.request.path, query))
        return hashlib.sha256(raw.encode()).hexdigest()

    def get_heading(self, *, query: str, sort: str) -> str:
        if self.page_kind == "search" or query:
            return f"Search results for “{query}”" if query else "Search stories"
        return {"hot": "Hot stories", "top": "Top stories"}.get(sort, "Latest stories")

    def get_feeds(self) -> dict[str, str]:
        return {
            "title": "Newsroom: latest stories",
            "rss": reverse("stories:feed_rss"),
            "atom": reverse("stories:feed_atom"),
        }


class SearchView(StoryListView):
    """Search results; without words to search for, only the form (never every story)."""

    page_kind = "search"

    def get_queryset(self) -> QuerySet:
        stories = super().get_queryset()
        return stories if normalise_query(self.request.GET.get("q")) else stories.none()


class TopicView(StoryListView):
    page_kind = "topic"
    hidden_filters = ("topic",)

    def get_queryset(self) -> QuerySet:
        # Only topics with live stories exist for readers.
        self.topic = get_object_or_404(live_topics(), slug=self.kwargs["slug"])
        return (
            super()
            .get_queryset()
            .filter(pk__in=StoryTopic.objects.filter(topic=self.topic).values("story_id"))
        )

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(topic=self.topic, **kwargs)

    def get_heading(self, *, query: str, sort: str) -> str:
        return plain_text(self.topic.name)

    def get_feeds(self) -> dict[str, str]:
        return {
            "title": f"Newsroom: {plain_text(self.topic.name)}",
            "rss": reverse("stories:topic_rss", kwargs={"slug": self.topic.slug}),
            "atom": reverse("stories:topic_atom", kwargs={"slug": self.topic.slug}),
        }


class ProviderView(StoryListView):
    page_kind = "provider"
    hidden_filters = ("provider",)

    def get_queryset(self) -> QuerySet:
        self.provider = get_object_or_404(live_providers(), domain__iexact=self.kwargs["domain"])
        return super().get_queryset().filter(provider=self.provider)

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(provider=self.provider, **kwargs)

    def get_heading(self, *, query: str, sort: str) -> str:
        return f"Stories from {plain_text(self.provider.name)}"

    def get_feeds(self) -> dict[str, str]:
        return {
            "title": f"Newsroom: stories from {plain_text(self.provider.name)}",
            "rss": reverse("stories:provider_rss", kwargs={"domain": self.provider.domain}),
            "atom": reverse("stories:provider_atom", kwargs={"domain": self.provider.domain}),
        }


@dataclass
class CoverageGroup:
    """Related coverage from one provider."""

    name: str
    domain: str
    links: list[RelatedLink] = field(default_factory=list)

    @property
    def best_quality(self) -> int | None:
        qualities = [link.quality for link in self.links if link.quality is not None]
        return max(qualities) if qualities else None


def group_coverage(links: list[RelatedLink]) -> list[CoverageGroup]:
    """Related links grouped by provider, best-quality provider first, file order within a group."""
    groups: dict[str, CoverageGroup] = {}
    for link in links:
        provider = link.provider
        name = provider.name if provider else (link.provider_name or "Other sources")
        domain = provider.domain if provider else ""
        key = domain.lower() if domain else f"name:{name}"
        groups.setdefault(key, CoverageGroup(name=name, domain=domain)).links.append(link)

    def rank(group: CoverageGroup) -> tuple[int, str]:
        best = group.best_quality
        return (-(best if best is not None else -1), group.name.lower())

    return sorted(groups.values(), key=rank)


def shown_coverage(story: Story) -> tuple[list[RelatedLink], int]:
    """The related coverage a story page shows (the best first ``COVERAGE_PER_STORY``, in file
    order) and how many more links the story has."""
    links = (
        RelatedLink.objects.filter(story=story)
        .filter(readable_dates("published_at"))
        .select_related("provider")
        .order_by(F("quality").desc(nulls_last=True), "position", "id")
    )
    shown = sorted(links[:COVERAGE_PER_STORY], key=lambda link: (link.position, link.pk))
    total = len(shown) if len(shown) < COVERAGE_PER_STORY else RelatedLink.objects.filter(story=story).count()
    return shown, total - len(shown)


@method_decorator(story_conditional, name="get")
class StoryDetailView(ReaderQuerysetMixin, DetailView):
    allow_preview = True
    topic_limit = TOPICS_PER_STORY
    template_name = "stories/story_detail.html"
    context_object_name = "story"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        story: Story = self.object
        links, more_links = shown_coverage(story)
        context.update(
            is_preview=not story.is_live(),
            coverage=group_coverage(links),
            more_coverage=more_links,
            topic_limit=self.topic_limit,
        )
        return context

    def render_to_response(self, context, **response_kwargs) -> HttpResponse:
        response = super().render_to_response(context, **response_kwargs)
        if context["is_preview"]:
            patch_cache_control(response, private=True, no_store=True)
            response.headers["X-Robots-Tag"] = "noindex"
        return response


def robots_txt(request: HttpRequest) -> HttpResponse:
    return render(request, "robots.txt", content_type="text/plain; charset=utf-8")

