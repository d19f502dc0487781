"""FilterSets (django-filter) for story listings."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from providers.models import Provider

from .models import ImportRunStory, State, Story, StoryTopic, Topic
from .search import MAX_QUERY_LENGTH, search_stories

SORT_ORDERINGS = {
    "new": (F("published_at").desc(nulls_last=True), "-id"),
    "hot": (F("heat").desc(nulls_last=True), F("published_at").desc(nulls_last=True), "-id"),
    "top": (F("quality").desc(nulls_last=True), F("published_at").desc(nulls_last=True), "-id"),
}
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


def _start_of_day(value) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min))


def _date_filter(label: str, *, method: str) -> django_filters.DateFilter:
    date_input = forms.DateInput(attrs={"type": "date"})
    return django_filters.DateFilter(label=label, method=method, widget=date_input)


class PublishedRangeMixin:
    """Whole days of publication, inclusive at both ends, in the site's time zone."""

    def filter_published_after(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(published_at__gte=_start_of_day(value))

    def filter_published_before(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(published_at__lt=_start_of_day(value + timedelta(days=1)))


class ReaderFilter(PublishedRangeMixin, django_filters.FilterSet):
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
    published_after = _date_filter("Published from", method="filter_published_after")
    published_before = _date_filter("Published until", method="filter_published_before")
    # Last, so that an explicit order overrides the ranking a search applies.
    sort = django_filters.ChoiceFilter(label="Order", choices=SORT_CHOICES, method="filter_sort")

    class Meta:
        model = Story
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs) -> None:
        super().__init__(data, *args, **kwargs)
        searching = bool(data and str(data.get("q", "")).strip())
        self.filters["sort"].extra["empty_label"] = "Best match" if searching else "Newest"

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_stories(queryset, value)

    def filter_topics(self, queryset: QuerySet, name: str, value) -> QuerySet:
        # Any of the chosen topics; a subquery rather than a join keeps rows distinct.
        if not value:
            return queryset
        return queryset.filter(pk__in=StoryTopic.objects.filter(topic__in=value).values("story_id"))

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*SORT_ORDERINGS[value])


# --- Moderation queue ----------------------------------------------------------------------------

MODERATION_STATES = [(State.IN_REVIEW, "In review"), (State.DRAFT, "Drafts")]
MODERATION_ORDERINGS = {
    "newest": (F("published_at").desc(nulls_last=True), "-id"),
    "oldest": (F("published_at").asc(nulls_first=True), "id"),
    "quality": (F("quality").desc(nulls_last=True), F("published_at").desc(nulls_last=True), "-id"),
    "heat": (F("heat").desc(nulls_last=True), F("published_at").desc(nulls_last=True), "-id"),
}
MODERATION_SORT_CHOICES = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("quality", "Quality, highest first"),
    ("heat", "Heat, highest first"),
]


def all_types() -> list[tuple[str, str]]:
    types = Story.objects.exclude(type="").order_by("type").values_list("type", flat=True).distinct()
    return [(value, value.capitalize()) for value in types]


class ModerationFilter(PublishedRangeMixin, django_filters.FilterSet):
    """What a moderator narrows the queue by. Staff only: choices name every provider and topic."""

    state = django_filters.ChoiceFilter(label="Show", choices=MODERATION_STATES, empty_label=None)
    q = django_filters.CharFilter(label="Text", method="filter_text", max_length=MAX_QUERY_LENGTH)
    provider = django_filters.ModelChoiceFilter(
        label="Provider", queryset=Provider.objects.order_by("name"), empty_label="Any provider"
    )
    topic = django_filters.ModelChoiceFilter(
        label="Topic", queryset=Topic.objects.all(), method="filter_topic", empty_label="Any topic"
    )
    type = django_filters.ChoiceFilter(label="Type", choices=all_types, empty_label="Any type")
    published_after = _date_filter("Published from", method="filter_published_after")
    published_before = _date_filter("Published until", method="filter_published_before")
    quality_min = django_filters.NumberFilter(label="Quality from", field_name="quality", lookup_expr="gte")
    quality_max = django_filters.NumberFilter(label="Quality to", field_name="quality", lookup_expr="lte")
    import_run = django_filters.NumberFilter(label="Import run", method="filter_import_run", min_value=1)
    sort = django_filters.ChoiceFilter(
        label="Order", choices=MODERATION_SORT_CHOICES, method="filter_sort", empty_label=None
    )

    class Meta:
        model = Story
        fields: list[str] = []

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value) | Q(excerpt__icontains=value) | Q(provider__name__icontains=value)
        )

    def filter_topic(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(pk__in=StoryTopic.objects.filter(topic=value).values("story_id"))

    def filter_import_run(self, queryset: QuerySet, name: str, value) -> QuerySet:
        # A run's stories as one batch, whatever else the run did to other stories.
        return queryset.filter(pk__in=ImportRunStory.objects.filter(run_id=int(value)).values("story_id"))

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*MODERATION_ORDERINGS[value])

