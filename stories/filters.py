"""What the reader's listings and the moderation queue filter alike (django-filter).

A form stays small whatever the number of providers and topics: a provider (and the
queue's topic) is typed into a text box that suggests names as one types
(``NamedChoiceFilter``, the JSON of ``suggestions`` and ``newsroom/suggest.js``; without
JavaScript the typed name or domain is looked up when the form is sent); the reader's
topics are the ``CHOICES_SHOWN`` most used plus the chosen ones, with the same box to find
any other. Both narrow by whole days of publication. Each FilterSet says where its rows
come from: the reader's from live stories only, the queue's from every story.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from operator import or_

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, Q, QuerySet
from django.forms.models import ModelChoiceIterator
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django_filters.filters import QuerySetRequestMixin

from .storyfile import ID_MAX
from .templatetags.reader import plain_text

# A filter form offers the most used topics, not every one there is (plus whatever the
# request chose); a request may still name any of them.
CHOICES_SHOWN = 50
# What a suggestion box offers for one prefix, and the longest prefix it looks up.
SUGGESTIONS = 10
SUGGESTION_MAX_LENGTH = 100


def resolve_named(queryset: QuerySet, values: Iterable[str], lookups: tuple[str, ...]) -> dict[str, Model]:
    """The rows of ``queryset`` that ``values`` name, by the first of ``lookups`` that names
    exactly one row (``"pk"``, ``"slug"``, ``"domain__iexact"``, ``"name__iexact"``…): one
    query per lookup, whatever the number of values. Values no lookup resolves are left out;
    a value that names several rows raises ValidationError."""
    found: dict[str, Model] = {}
    remaining = list(dict.fromkeys(value for value in values if value))
    for lookup in lookups:
        if lookup == "pk":
            wanted = [value for value in remaining if value.isdigit() and int(value) <= ID_MAX]
        else:
            wanted = remaining
        if not wanted:
            continue
        field, _, how = lookup.partition("__")
        rows = list(queryset.filter(reduce(or_, (Q(**{lookup: value}) for value in wanted))))

        def same(row, value: str, field: str = field, how: str = how) -> bool:
            own = str(getattr(row, field))
            return own.casefold() == value.casefold() if how == "iexact" else own == value

        for value in wanted:
            matches = [row for row in rows if same(row, value)]
            if len(matches) > 1:
                raise ValidationError(
                    "“%(value)s” names several; give the domain or choose a suggestion.",
                    code="ambiguous",
                    params={"value": value},
                )
            if matches:
                found[value] = matches[0]
        remaining = [value for value in remaining if value not in found]
    return found


class SuggestInput(forms.TextInput):
    """A text box whose suggestions ``newsroom/suggest.js`` fetches from the view ``url_name``
    into the ``<datalist>`` the template draws after it (id: the box's id + ``-suggestions``)."""

    def __init__(self, url_name: str, attrs: dict | None = None) -> None:
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.url_name = url_name

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        widget_attrs["data-suggest"] = reverse(self.url_name)
        if widget_attrs.get("id"):
            widget_attrs["list"] = f"{widget_attrs['id']}-suggestions"
        return context


class NamedChoiceField(forms.ModelChoiceField):
    """One row of ``queryset``, typed as text: anything ``lookups`` resolves (see ``resolve_named``),
    shown back as its ``shown_as`` attribute (a domain, a slug)."""

    def __init__(self, queryset, *, lookups: tuple[str, ...], shown_as: str, url_name: str, **kwargs) -> None:
        kwargs.setdefault("widget", SuggestInput(url_name))
        super().__init__(queryset, **kwargs)
        self.lookups, self.shown_as = lookups, shown_as

    def _resolve(self, text: str) -> dict[str, Model]:
        # Cleaning and drawing the form name the same value: looked up once.
        if getattr(self, "_resolved", (None,))[0] != text:
            self._resolved = (text, resolve_named(self.queryset, [text], self.lookups))
        return self._resolved[1]

    def to_python(self, value):
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        found = self._resolve(text)
        if text not in found:
            raise ValidationError(
                "Nothing is called “%(value)s”: choose one of the suggestions.",
                code="invalid_choice",
                params={"value": text},
            )
        return found[text]

    def prepare_value(self, value):
        if isinstance(value, Model):
            return getattr(value, self.shown_as)
        return value

    def has_changed(self, initial, data) -> bool:
        return str(self.prepare_value(initial) or "") != str(data or "")

    def bound_data(self, data, initial):
        # What was typed shows as the row it names (an id or a name as its domain).
        try:
            return self.to_python(data) or data
        except ValidationError:
            return data


class NamedChoiceFilter(QuerySetRequestMixin, django_filters.Filter):
    """A django-filter filter for ``NamedChoiceField`` (its queryset may take the request)."""

    field_class = NamedChoiceField


class NamedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Several rows of ``queryset``: checked boxes (by ``to_field_name``) or names typed into the
    box beside them, each resolved by ``lookups``. Empty values (an empty box) are ignored."""

    def __init__(self, queryset, *, lookups: tuple[str, ...], url_name: str, **kwargs) -> None:
        super().__init__(queryset, **kwargs)
        self.lookups, self.url_name = lookups, url_name

    def _values(self, value) -> list[str]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        return [str(item).strip() for item in values if str(item).strip()][:CHOICES_SHOWN]

    def _resolve(self, values: list[str]) -> dict[str, Model]:
        # Cleaning and drawing the form name the same values: looked up once.
        key = tuple(values)
        if getattr(self, "_resolved", (None,))[0] != key:
            self._resolved = (key, resolve_named(self.queryset, values, self.lookups))
        return self._resolved[1]

    def clean(self, value):
        values = self._values(value)
        if not values:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return self.queryset.none()
        found = self._resolve(values)
        unknown = [item for item in values if item not in found]
        if unknown:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": unknown[0]}
            )
        return list(dict.fromkeys(found.values()))

    def bound_data(self, data, initial):
        # A typed name shows as its checked box: the value the box carries.
        values = self._values(data)
        try:
            found = self._resolve(values)
        except ValidationError:
            return values
        return [str(getattr(found[item], self.to_field_name)) if item in found else item for item in values]


class NamedMultipleChoiceFilter(QuerySetRequestMixin, django_filters.Filter):
    field_class = NamedMultipleChoiceField


def suggestions(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    fields: tuple[str, ...],
    value: Callable[[Model], str],
    label: Callable[[Model], str],
) -> JsonResponse:
    """At most ``SUGGESTIONS`` rows of ``queryset`` whose ``fields`` start with ``?q=``, in the
    order of the first field: ``{"results": [{"value": …, "label": …}]}``."""
    text = request.GET.get("q", "").strip()[:SUGGESTION_MAX_LENGTH]
    rows = []
    if text:
        starts = reduce(or_, (Q(**{f"{field}__istartswith": text}) for field in fields))
        rows = list(queryset.filter(starts).order_by(fields[0], "pk")[:SUGGESTIONS])
    return JsonResponse({"results": [{"value": value(row), "label": label(row)} for row in rows]})


class ShownChoices(ModelChoiceIterator):
    """A model choice field's options as rendered: those of ``queryset``, evaluated when drawn."""

    def __init__(self, field, queryset: QuerySet) -> None:
        super().__init__(field)
        self.queryset = queryset


def show_model_choices(field, *, ranked_ids: QuerySet, chosen: list[str], to_field: str = "pk") -> None:
    """Draw ``field`` with the first ``CHOICES_SHOWN`` of ``ranked_ids`` and the ``chosen`` values
    (named by ``to_field``, or by name, any case, when typed into the box beside)."""
    if to_field == "pk":
        chosen = [value for value in chosen if value.isdigit() and int(value) <= ID_MAX]
    chosen = chosen[:CHOICES_SHOWN]
    wanted = Q(pk__in=ranked_ids[:CHOICES_SHOWN]) | Q(**{f"{to_field}__in": chosen})
    if isinstance(field, NamedMultipleChoiceField) and chosen:
        wanted |= reduce(or_, (Q(name__iexact=value) for value in chosen))
    field.widget.choices = ShownChoices(field, field.queryset.filter(wanted))


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
    """A FilterSet whose ``topic`` filter, drawn as boxes, offers the most used topics first.

    ``choice_sources()`` gives the story-topic rows whose topics count.
    """

    data: object

    def choice_sources(self) -> QuerySet:
        raise NotImplementedError

    @property
    def form(self):
        if not hasattr(self, "_form"):
            fields = super().form.fields
            field = fields.get("topic")
            if field is not None and hasattr(field.widget, "choices"):
                field.label_from_instance = name_label
                show_model_choices(
                    field,
                    ranked_ids=ranked(self.choice_sources(), "topic"),
                    chosen=chosen_values(self.data, "topic"),
                    to_field=field.to_field_name or "pk",
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
