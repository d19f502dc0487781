"""What a reader can narrow a listing by (django-filter), and the choices readers may see."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet

from providers.models import Provider

from ..filters import MostUsedChoicesMixin, PublishedRangeMixin, date_filter
from ..models import Story, StoryTopic, Topic
from .search import MAX_QUERY_LENGTH, search_stories

# The orders themselves, and the indexes that serve them, are in models/orders.py.
SORT_CHOICES = [("new", "Newest"), ("hot", "Hot"), ("top", "Top quality")]


# Choice lists only name what readers may already see: topics, providers and
# types of live stories. Anything else would leak unpublished content.
def live_topics(request=None) -> QuerySet:
    return Topic.objects.filter(
        pk__in=StoryTopic.objects.filter(story__in=Story.objects.live()).values("topic_id")
    )


def live_providers(request=None) -> QuerySet:
    return Provider.objects.filter(pk__in=Story.objects.live().values("provider_id"))


def live_types() -> list[tuple[str, str]]:
    types = Story.objects.live().exclude(type="").order_by("type").values_list("type", flat=True).distinct()
    return [(value, value.capitalize()) for value in types]


class ReaderFilter(MostUsedChoicesMixin, PublishedRangeMixin, django_filters.FilterSet):
    """What a reader can narrow a listing by. The queryset it gets must already be live-only."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        max_length=MAX_QUERY_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search stories"}),
    )
    topic = django_filters.ModelMultipleChoiceFilter(
        label="Topics",
        queryset=live_topics,
        to_field_name="slug",
        method="filter_topics",
        widget=forms.CheckboxSelectMultiple,
    )
    provider = django_filters.ModelChoiceFilter(
        label="Provider",
        queryset=live_providers,
        to_field_name="domain",
        field_name="provider",
        empty_label="Any provider",
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

    def choice_sources(self) -> tuple[QuerySet, QuerySet]:
        live = Story.objects.live()
        return live, StoryTopic.objects.filter(story__in=live)

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
