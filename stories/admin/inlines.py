"""A story's related links and images on its change page, saved through the workflow with the story."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from ..models import Image, RelatedLink
from .forms import ImageInlineForm, RelatedLinkInlineForm


class LoadedAutocompleteSelect(AutocompleteSelect):
    """An autocomplete that shows the chosen row from ``loaded`` (the form's own instance, read
    with its row) instead of one query per form: a story's 70 related links, 70 queries less."""

    loaded: dict

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loaded = {}

    def optgroups(self, name, value, attr=None):
        chosen = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        if not chosen or any(v not in self.loaded for v in chosen):
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        label = self.choices.field.label_from_instance
        for v in chosen:
            options.append(self.create_option(name, v, label(self.loaded[v]), set(chosen), len(options)))
        return [(None, options, 0)]


class HeldForModeratorInline(admin.TabularInline):
    """An inline that is read-only while the story has a draft waiting for a moderator: it shows
    the live rows, and the change form edits the draft (``admin.drafts``). Otherwise a
    non-moderator's change to a published story's rows is saved as a draft like the form's."""

    story_field: str

    def _held(self, request, obj) -> bool:
        return obj is not None and obj.draft_revision_id is not None

    def has_add_permission(self, request, obj=None) -> bool:
        return super().has_add_permission(request, obj) and not self._held(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and not self._held(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not self._held(request, obj)


class RelatedLinkInline(HeldForModeratorInline):
    # Saved by StoryAdmin.save_related through the workflow, never by the formset itself.
    model = RelatedLink
    story_field = "related"
    form = RelatedLinkInlineForm
    fk_name = "story"
    extra = 0
    fields = RelatedLinkInlineForm.Meta.fields
    autocomplete_fields = ("provider",)
    ordering = ("position", "id")
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("provider")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "provider":
            kwargs["widget"] = LoadedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class LoadedProviders(formset):
            def _construct_form(self, i, **form_kwargs):
                form = super()._construct_form(i, **form_kwargs)
                link = form.instance
                if link.provider_id is not None and RelatedLink.provider.is_cached(link):
                    widget = form.fields["provider"].widget
                    widget = getattr(widget, "widget", widget)  # inside the related-object wrapper
                    if isinstance(widget, LoadedAutocompleteSelect):
                        widget.loaded[str(link.provider_id)] = link.provider
                return form

        return LoadedProviders


class ImageInline(HeldForModeratorInline):
    # Saved by StoryAdmin.save_related through the workflow, never by the formset itself.
    model = Image
    story_field = "images"
    form = ImageInlineForm
    fk_name = "story"
    extra = 0
    fields = (*ImageInlineForm.Meta.fields, "cache_status")
    readonly_fields = ("cache_status",)
    ordering = ("position", "id")
