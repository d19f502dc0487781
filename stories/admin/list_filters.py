"""Change list filters that stay small whatever the number of providers, topics and stories.

Django's related-field filter lists every provider (thousands of links), and its
all-values filter scans the table for the distinct types. Here a provider or topic is
chosen through the admin's autocomplete (a search box that asks the server as one
types; the list's address takes the same parameter as Django's filter), and the types
come from one walk of the type index (``story_types``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import Q

from ..models import story_types


class AutocompleteListFilter(admin.FieldListFilter):
    """A foreign key or many-to-many filter chosen through the admin's autocomplete.

    The parameter is Django's own (``provider__id__exact``), so links that filter a list by a
    provider keep working. Only the chosen row is read, to show its name.
    """

    template = "admin/stories/autocomplete_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_kwarg = f"{field_path}__{field.target_field.name}__exact"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.admin_site = model_admin.admin_site

    def expected_parameters(self) -> list[str]:
        return [self.lookup_kwarg]

    def queryset(self, request, queryset):
        chosen = self.used_parameters.get(self.lookup_kwarg)
        if chosen and self.field.many_to_many:
            # A subquery, not a join: a story is listed once, and the count stays a plain count.
            through = self.field.remote_field.through
            source = self.field.m2m_field_name()
            target = self.field.m2m_reverse_field_name()
            try:
                stories = through.objects.filter(Q(**{f"{target}__in": chosen})).values(f"{source}_id")
            except (ValueError, ValidationError) as error:
                raise IncorrectLookupParameters(error) from error
            return queryset.filter(pk__in=stories)
        return super().queryset(request, queryset)

    def form(self, changelist) -> forms.Form:
        related = self.field.remote_field.model
        field = forms.ModelChoiceField(
            queryset=related._default_manager.all(),
            required=False,
            widget=AutocompleteSelect(self.field, self.admin_site),
            label=self.title,
        )
        form_class = type("AutocompleteFilterForm", (forms.Form,), {self.lookup_kwarg: field})
        value = self.used_parameters.get(self.lookup_kwarg)
        initial = {self.lookup_kwarg: value[-1] if isinstance(value, list) else value}
        return form_class(initial=initial, auto_id=f"id_filter_{self.field_path}_%s")

    def choices(self, changelist):
        # One "choice" that carries the form: the template draws it, the other filters
        # and the search travel as hidden fields.
        kept = [
            (name, value)
            for name, values in changelist.params.items()
            if name not in (self.lookup_kwarg, "p")
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {
            "form": self.form(changelist),
            "hidden": kept,
            "clear_link": changelist.get_query_string(remove=[self.lookup_kwarg]),
            "selected": bool(self.used_parameters.get(self.lookup_kwarg)),
        }


class StoryTypeListFilter(admin.AllValuesFieldListFilter):
    """The story types, read by walking the type index (one probe per type), not a DISTINCT scan."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = story_types()
