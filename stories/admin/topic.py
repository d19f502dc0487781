"""Topics in the admin: how many stories each has, renaming (a moderator's, once readers see it), merging."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet

from .. import workflow
from ..models import Story, Topic
from .merge import merge_action
from .readers import ReaderVersionAdminMixin


@admin.register(Topic)
class TopicAdmin(ReaderVersionAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "story_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    actions = ("merge_selected",)

    def get_queryset(self, request):
        # A count groups the rows, and a grouped query drops the model's default order:
        # the autocomplete would page through an unordered list.
        topics = super().get_queryset(request).annotate(_story_count=Count("story_topics"))
        return topics.order_by("name", "pk")

    @admin.display(description="stories", ordering="_story_count")
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
