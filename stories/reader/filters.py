"""What a reader can narrow a listing by (django-filter), and the choices readers may see."""

from __future__ import annotations

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from providers.models import Provider

from ..filters import (
    MostUsedChoicesMixin,
    NamedChoiceFilter,
    NamedMultipleChoiceFilter,
    PublishedRangeMixin,
    date_filter,
)
from ..models import Story, StoryTopic, Topic, story_types
from .search import MAX_QUERY_LENGTH, search_stories

# The orders themselves, and the indexes that serve them, are in models/orders.py.
SORT_CHOICES = [("new", "Newest"), ("hot", "Hot"), ("top", "Top quality")]
# The topic boxes offer the most used topics of this many newest live stories.
TOPICS_RANKED_FROM = 2_000


# Choice lists only name what readers may already see: topics, providers and
# types of live stories. Anything else would leak unpublished content.
# Each is a semi-join: a topic or provider is looked up, then one of its live stories.
def live_topics(request=None) -> QuerySet:
    return Topic.objects.filter(Exists(Story.objects.live().filter(story_topics__topic=OuterRef("pk"))))


def live_providers(request=None) -> QuerySet:
    return Provider.objects.filter(Exists(Story.objects.live().filter(provider=OuterRef("pk"))))


def live_types() -> list[tuple[str, str]]:
    """The types of live stories: every type from the type index (``story_types``), then, in
    one query, one live story of each (an index probe each), never a scan of every story."""
    candidates = story_types()
    if not candidates:
        return []
    live_stories = Story.objects.live().order_by()
    probes = [
        live_stories.filter(type=value).values_list("type", flat=True)[:1].query.sql_with_params()
        for value in candidates
    ]
    # Compiled by the ORM, values as parameters; SQLite wants each limited probe in a subquery.
    sql = " UNION ALL ".join(
        f"SELECT * FROM ({probe}) AS probe_{n}"  # noqa: S608
        for n, (probe, _) in enumerate(probes)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [param for _, params in probes for param in params])
        live = {row[0] for row in cursor.fetchall()}
    return [(value, value.capitalize()) for value in candidates if value in live]


class ReaderFilter(MostUsedChoicesMixin, PublishedRangeMixin, django_filters.FilterSet):
    """What a reader can narrow a listing by. The queryset it gets must already be live-only."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        max_length=MAX_QUERY_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search stories"}),
    )
    # The most used topics as boxes, any other typed into the box the template draws beside them.
    topic = NamedMultipleChoiceFilter(
        label="Topics",
        queryset=live_topics,
        to_field_name="slug",
        lookups=("slug", "name__iexact"),
        url_name="stories:suggest_topics",
        method="filter_topics",
        widget=forms.CheckboxSelectMultiple,
    )
    provider = NamedChoiceFilter(
        label="Provider",
        queryset=live_providers,
        lookups=("domain__iexact", "name__iexact"),
        shown_as="domain",
        url_name="stories:suggest_providers",
        field_name="provider",
        help_text="A name or a domain",
    )
    type = django_filters.ChoiceFilter(label="Type", choices=live_types, empty_label="Any type")
    published_after = date_filter("Published from", method="filter_published_after")
    published_before = date_filter("Published until", method="filter_published_before")
    sort = django_filters.ChoiceFilter(label="Order", choices=SORT_CHOICES, method="filter_sort")

    class Meta:
        model = Story
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs) -> None:
        super().__init__(data, *args, **kwargs)
        searching = bool(data and str(data.get("q", "")).strip())
        self.filters["sort"].extra["empty_label"] = "Best match" if searching else "Newest"

    def choice_sources(self) -> QuerySet:
        # The topics of the newest live stories: counting them is bounded (one walk of the
        # newest-first index), and they are the topics a news reader looks for first.
        recent = Story.objects.live().in_reader_order().values("pk")[:TOPICS_RANKED_FROM]
        return StoryTopic.objects.filter(story__in=recent)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # The text search comes last: the matches it ranks and counts (a bounded number) are
        # then those the other filters keep, and an explicit order picks them.
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        return search_stories(queryset, data.get("q"), best_first=not data.get("sort"))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # applied by filter_queryset, after the other filters

    def filter_topics(self, queryset: QuerySet, name: str, value) -> QuerySet:
        # Any of the chosen topics; a subquery rather than a join keeps rows distinct.
        if not value:
            return queryset
        return queryset.filter(pk__in=StoryTopic.objects.filter(topic__in=value).values("story_id"))

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.in_reader_order(value)
