"""The moderation queue's filters (django-filter).

Providers and topics are typed, with suggestions (``stories.filters.NamedChoiceFilter``,
``views.suggest_providers`` and ``views.suggest_topics``), never listed: a page costs the
same with five thousand providers as with five.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, QuerySet

from providers.models import Provider

from ..filters import NamedChoiceFilter, PublishedRangeMixin, date_filter
from ..models import ImportRunStory, State, Story, StoryTopic, Topic, story_types
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
    return [(value, value.capitalize()) for value in story_types()]


class WholeNumberFilter(django_filters.NumberFilter):
    """An integer ("1e30" and "1.5" are not), so that bounds can keep it inside a database column."""

    field_class = forms.IntegerField


class ModerationFilter(PublishedRangeMixin, django_filters.FilterSet):
    """What a moderator narrows the queue by. Staff only: any provider and topic may be named
    (by id, as links give them, or by domain, slug or name, as people type them)."""

    state = django_filters.ChoiceFilter(label="Show", choices=MODERATION_STATES, empty_label=None)
    q = django_filters.CharFilter(label="Text", method="filter_text", max_length=MAX_QUERY_LENGTH)
    provider = NamedChoiceFilter(
        label="Provider",
        queryset=Provider.objects.all(),
        lookups=("pk", "domain__iexact", "name__iexact"),
        shown_as="domain",
        url_name="moderation:suggest_providers",
    )
    topic = NamedChoiceFilter(
        label="Topic",
        queryset=Topic.objects.all(),
        lookups=("pk", "slug", "name__iexact"),
        shown_as="name",
        url_name="moderation:suggest_topics",
        method="filter_topic",
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

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.containing(value) if value else queryset

    def filter_topic(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(pk__in=StoryTopic.objects.filter(topic=value).values("story_id"))

    def filter_import_run(self, queryset: QuerySet, name: str, value) -> QuerySet:
        # A run's stories as one batch, whatever else the run did to other stories.
        return queryset.filter(pk__in=ImportRunStory.objects.filter(run_id=int(value)).values("story_id"))

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*MODERATION_ORDERINGS[value])
