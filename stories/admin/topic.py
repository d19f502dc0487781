"""Topics in the admin: how many stories each has, renaming (a moderator's, once readers see it), merging."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet

from .. import workflow
from ..counts import related_count
from ..models import Story, StoryTopic, Topic
from .changelist import RowCountChangeList
from .merge import merge_action
from .readers import ReaderVersionAdminMixin


@admin.register(Topic)
class TopicAdmin(ReaderVersionAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "story_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    actions = ("merge_selected",)
    # Alphabetical, and a total order: the autocomplete pages through this list.
    ordering = ("name", "pk")
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return RowCountChangeList

    def row_counts(self) -> dict:
        # Counted for the rows the list shows, never for the autocomplete (same queryset).
        return {"_story_count": related_count(StoryTopic, "topic")}

    @admin.display(description="stories")
    def story_count(self, topic: Topic) -> int:
        return topic._story_count

    def seen_by_readers(self, rows: QuerySet) -> bool:
        return Story.objects.published().filter(story_topics__topic__in=rows).exists()

    def has_change_permission(self, request, obj: Topic | None = None) -> bool:
        # A topic's name and slug show on every story that has it: on a published one, that is
        # what readers see, so only a moderator renames it (others get the read-only page).
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or not workflow.topic_held_for_moderator(obj, request.user)

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm("stories.delete_topic") and request.user.has_perm("stories.change_story")

    @admin.action(description="Merge selected topics…", permissions=["merge"])
    def merge_selected(self, request, queryset):
        return merge_action(
            self, request, queryset, merge=workflow.merge_topics, noun="topic", action="merge_selected"
        )
