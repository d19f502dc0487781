"""The audit trail in the admin, read-only for everyone (superusers included)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ..models import AuditEntry
from .changelist import SafeChangeListMixin
from .history import actor_label


@admin.register(AuditEntry)
class AuditEntryAdmin(SafeChangeListMixin, admin.ModelAdmin):
    """The audit trail, read-only for everyone (superusers included)."""

    list_display = ("created_at", "story_link", "who", "action", "field", "before", "after", "comment")
    list_filter = ("action", "field", "created_at")
    # Not the story: the entry keeps its title, and a story row may be one that cannot be loaded.
    list_select_related = ("actor", "import_run")
    search_fields = ("story_title", "comment", "actor__username")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="story", ordering="story_title")
    def story_link(self, entry: AuditEntry) -> str:
        if entry.story_id is None:
            return entry.story_title
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:stories_story_change", args=[entry.story_id]),
            entry.story_title,
        )

    @admin.display(description="who")
    def who(self, entry: AuditEntry) -> str:
        return actor_label(entry)
