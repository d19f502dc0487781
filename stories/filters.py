"""FilterSets (django-filter) for story listings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Count, F, Q, QuerySet
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.choices import CallableChoiceIterator

from providers.models import Provider

from .models import ImportRunStory, State, Story, StoryTopic, Topic
from .search import MAX_QUERY_LENGTH, search_stories
from .storyfile import ID_MAX
from .templatetags.reader import plain_text

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


# A filter form offers the most used topics, providers and types, not every one there is
# (plus whatever the request chose); a request may still name any of them.
CHOICES_SHOWN = 50


class ShownChoices(ModelChoiceIterator):
    """A model choice field's options as rendered: those of ``queryset``, evaluated when drawn."""

    def __init__(self, field, queryset: QuerySet) -> None:
        super().__init__(field)
        self.queryset = queryset


def show_model_choices(field, *, ranked_ids: QuerySet, chosen: list[str], to_field: str = "pk") -> None:
    """Draw ``field`` with the first ``CHOICES_SHOWN`` of ``ranked_ids`` and the ``chosen`` values."""
    if to_field == "pk":
        chosen = [value for value in chosen if value.isdigit() and int(value) <= ID_MAX]
    wanted = Q(pk__in=ranked_ids[:CHOICES_SHOWN]) | Q(**{f"{to_field}__in": chosen[:CHOICES_SHOWN]})
    field.widget.choices = ShownChoices(field, field.queryset.filter(wanted))


def show_value_choices(field, *, ranked: QuerySet, chosen: str | None, empty_label: str | None) -> None:
    """Draw a plain choice field with the first ``CHOICES_SHOWN`` values of ``ranked`` and the chosen one."""

    drawn: list[tuple[str, str]] = []

    def choices() -> list[tuple[str, str]]:
        # Evaluated when the form is drawn (a cached form never is), and once: widgets iterate twice.
        if not drawn:
            values = list(ranked[:CHOICES_SHOWN])
            if chosen and chosen not in values:
                values.append(chosen)
            drawn.extend([("", empty_label)] if empty_label is not None else [])
            drawn.extend((value, value.capitalize()) for value in sorted(values))
        return drawn

    field.widget.choices = CallableChoiceIterator(choices)


def name_label(item) -> str:
    return plain_text(item.name)


def provider_label(provider) -> str:
    return f"{plain_text(provider.name)} ({provider.domain})"


def ranked(queryset: QuerySet, column: str) -> QuerySet:
    """The values of ``column`` in ``queryset``, the most frequent first."""
    counted = queryset.values(column).annotate(uses=Count("pk"))
    return counted.order_by("-uses", column).values_list(column, flat=True)


def most_used_topic_names(limit: int) -> list[str]:
    top = ranked(StoryTopic.objects.all(), "topic")[:limit]
    return list(Topic.objects.filter(pk__in=top).order_by("name").values_list("name", flat=True))


def _chosen(data, name: str) -> list[str]:
    if data is None:
        return []
    values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
    return [str(value) for value in values if value]


def _start_of_day(value: date) -> datetime | None:
    """Midnight at the start of ``value`` in the site's time zone; None past either end of the calendar."""
    try:
        start = timezone.make_aware(datetime.combine(value, time.min))
        # The database compares in UTC, which can be a day outside the calendar too.
        start.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return start


def _next_day(value: date) -> date | None:
    try:
        return value + timedelta(days=1)
    except OverflowError:
        return None


def _date_filter(label: str, *, method: str) -> django_filters.DateFilter:
    date_input = forms.DateInput(attrs={"type": "date"})
    return django_filters.DateFilter(label=label, method=method, widget=date_input)


class PublishedRangeMixin:
    """Whole days of publication, inclusive at both ends, in the site's time zone.

    A bound at the first or last day of the calendar is no bound at all.
    """

    def filter_published_after(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        start = _start_of_day(value)
        return queryset if start is None else queryset.filter(published_at__gte=start)

    def filter_published_before(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        following = _next_day(value)
        end = _start_of_day(following) if following is not None else None
        return queryset if end is None else queryset.filter(published_at__lt=end)


class WholeNumberFilter(django_filters.NumberFilter):
    """An integer ("1e30" and "1.5" are not), so that bounds can keep it inside a database column."""

    field_class = forms.IntegerField


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

    @property
    def form(self):
        if not hasattr(self, "_form"):
            fields = super().form.fields
            live = Story.objects.live()
            if "topic" in fields:
                fields["topic"].label_from_instance = name_label
                show_model_choices(
                    fields["topic"],
                    ranked_ids=ranked(StoryTopic.objects.filter(story__in=live), "topic"),
                    chosen=_chosen(self.data, "topic"),
                    to_field="slug",
                )
            if "provider" in fields:
                fields["provider"].label_from_instance = provider_label
                show_model_choices(
                    fields["provider"],
                    ranked_ids=ranked(live, "provider"),
                    chosen=_chosen(self.data, "provider"),
                    to_field="domain",
                )
            if "type" in fields:
                show_value_choices(
                    fields["type"],
                    ranked=ranked(live.exclude(type=""), "type"),
                    chosen=(_chosen(self.data, "type") or [None])[0],
                    empty_label="Any type",
                )
        return self._form

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
    import_run = WholeNumberFilter(
        label="Import run", method="filter_import_run", min_value=1, max_value=ID_MAX
    )
    sort = django_filters.ChoiceFilter(
        label="Order", choices=MODERATION_SORT_CHOICES, method="filter_sort", empty_label=None
    )

    class Meta:
        model = Story
        fields: list[str] = []

    @property
    def form(self):
        if not hasattr(self, "_form"):
            fields = super().form.fields
            fields["topic"].label_from_instance = name_label
            show_model_choices(
                fields["topic"],
                ranked_ids=ranked(StoryTopic.objects.all(), "topic"),
                chosen=_chosen(self.data, "topic"),
            )
            fields["provider"].label_from_instance = provider_label
            show_model_choices(
                fields["provider"],
                ranked_ids=ranked(Story.objects.all(), "provider"),
                chosen=_chosen(self.data, "provider"),
            )
            show_value_choices(
                fields["type"],
                ranked=ranked(Story.objects.exclude(type=""), "type"),
                chosen=(_chosen(self.data, "type") or [None])[0],
                empty_label="Any type",
            )
        return self._form

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

