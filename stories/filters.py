"""What the reader's listings and the moderation queue filter alike (django-filter).

Both draw their topic, provider and type choices the same way (the most used first,
``CHOICES_SHOWN`` of them, plus whatever the request chose) and both narrow by whole
days of publication. Each FilterSet says where its choices come from: the reader's
from live stories only, the queue's from every story.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Count, Q, QuerySet
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.choices import CallableChoiceIterator

from .storyfile import ID_MAX
from .templatetags.reader import plain_text

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


def chosen_values(data, name: str) -> list[str]:
    """What the request chose for the filter ``name``, as text."""
    if data is None:
        return []
    values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
    return [str(value) for value in values if value]


class MostUsedChoicesMixin:
    """A FilterSet whose ``topic``, ``provider`` and ``type`` filters offer the most used values first.

    ``choice_sources()`` gives the stories whose providers and types count, and the
    story-topic rows whose topics count.
    """

    data: object

    def choice_sources(self) -> tuple[QuerySet, QuerySet]:
        raise NotImplementedError

    @property
    def form(self):
        if not hasattr(self, "_form"):
            fields = super().form.fields
            stories, story_topics = self.choice_sources()
            models = {"topic": (story_topics, name_label), "provider": (stories, provider_label)}
            for name, (rows, label) in models.items():
                if name in fields:
                    field = fields[name]
                    field.label_from_instance = label
                    show_model_choices(
                        field,
                        ranked_ids=ranked(rows, name),
                        chosen=chosen_values(self.data, name),
                        to_field=field.to_field_name or "pk",
                    )
            if "type" in fields:
                show_value_choices(
                    fields["type"],
                    ranked=ranked(stories.exclude(type=""), "type"),
                    chosen=(chosen_values(self.data, "type") or [None])[0],
                    empty_label="Any type",
                )
        return self._form


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


def date_filter(label: str, *, method: str) -> django_filters.DateFilter:
    date_input = forms.DateInput(attrs={"type": "date"})
    return django_filters.DateFilter(label=label, method=method, widget=date_input)


class PublishedRangeMixin:
    """Whole days of publication, inclusive at both ends, in the site's time zone.

    A bound at the first or last day of the calendar is no bound at all. The FilterSet
    declares ``published_after`` and ``published_before`` with ``date_filter`` where its
    form shows them.
    """

    def filter_published_after(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        start = _start_of_day(value)
        return queryset if start is None else queryset.filter(published_at__gte=start)

    def filter_published_before(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        following = _next_day(value)
        end = _start_of_day(following) if following is not None else None
        return queryset if end is None else queryset.filter(published_at__lt=end)
