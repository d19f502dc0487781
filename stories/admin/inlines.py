"""A story's related links and images on its change page, saved through the workflow with the story."""

from __future__ import annotations

from django.contrib import admin

from ..models import Image, RelatedLink
from .forms import ImageInlineForm, RelatedLinkInlineForm


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
