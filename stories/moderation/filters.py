"""The moderation queue's filters (django-filter), and the topic names it suggests."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet

from providers.models import Provider

from ..filters import MostUsedChoicesMixin, PublishedRangeMixin, date_filter, ranked
from ..models import ImportRunStory, State, Story, StoryTopic, Topic
from ..reader.search import MAX_QUERY_LENGTH
from ..storyfile import ID_MAX

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


def most_used_topic_names(limit: int) -> list[str]:
    top = ranked(StoryTopic.objects.all(), "topic")[:limit]
    return list(Topic.objects.filter(pk__in=top).order_by("name").values_list("name", flat=True))


class WholeNumberFilter(django_filters.NumberFilter):
    """An integer ("1e30" and "1.5" are not), so that bounds can keep it inside a database column."""

    field_class = forms.IntegerField


class ModerationFilter(MostUsedChoicesMixin, PublishedRangeMixin, django_filters.FilterSet):
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
    published_after = date_filter("Published from", method="filter_published_after")
    published_before = date_filter("Published until", method="filter_published_before")
    quality_min = django_filters.NumberFilter(label="Quality from", field_name="quality", lookup_expr="gte")
    quality_max = django_filters.NumberFilter(label="Quality to", field_name="quality", lookup_expr="lte")
    import_run = WholeNumberFilter(
        label="Import run", method="filter_import_run", min_value=1, max_value=ID_MAX
    )
    sort = django_filters.ChoiceFilter(
        label="Order", choices=MODERATION_SORT_CHOICES, method="filter_sort", empty_label=None
    )

    class Meta:
        model = Story
        fields: list[str] = []

    def choice_sources(self) -> tuple[QuerySet, QuerySet]:
        return Story.objects.all(), StoryTopic.objects.all()

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
