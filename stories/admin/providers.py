"""The provider admin as the newsroom uses it: each provider's stories, merging, the format's rules.

Providers are a leaf app that knows nothing of stories, so its admin is extended here,
the way a project extends ``django.contrib.auth``'s ``UserAdmin``: unregistered, and
registered again as a subclass.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from providers.admin import ProviderAdmin as BaseProviderAdmin
from providers.models import Provider

from .. import workflow
from ..counts import related_count
from ..models import Story
from .changelist import RowCountChangeList
from .forms import ProviderForm
from .merge import merge_action
from .readers import ReaderVersionAdminMixin

STORIES_SHOWN = 50

admin.site.unregister(Provider)


@admin.register(Provider)
class ProviderAdmin(ReaderVersionAdminMixin, BaseProviderAdmin):
    form = ProviderForm
    list_display = (*BaseProviderAdmin.list_display, "story_count")
    readonly_fields = (*BaseProviderAdmin.readonly_fields, "stories")
    fields = (*BaseProviderAdmin.fields, "stories")
    actions = ("merge_selected",)
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return RowCountChangeList

    def seen_by_readers(self, rows: QuerySet) -> bool:
        cited = Q(provider__in=rows) | Q(related_links__provider__in=rows)
        return Story.objects.published().filter(cited).exists()

    def row_counts(self) -> dict:
        # Counted for the rows the list shows, never for the autocomplete (same queryset).
        return {"_story_count": related_count(Story, "provider")}

    @admin.display(description="stories")
    def story_count(self, provider: Provider) -> int:
        return provider._story_count

    @admin.display(description="stories")
    def stories(self, provider: Provider) -> str:
        if not provider.pk:
            return "—"
        # Only what the list shows: a story row with a date Python cannot hold could not be loaded.
        listed = (
            Story.objects.filter(provider=provider)
            .only("title", "state")
            .order_by("-published_at", "-pk")[:STORIES_SHOWN]
        )
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            (
                (reverse("admin:stories_story_change", args=[s.pk]), s.title, s.get_state_display())
                for s in listed
            ),
        )
        everything = reverse("admin:stories_story_changelist") + f"?provider__id__exact={provider.pk}"
        return format_html(
            '<ul class="provider-stories">{}</ul><p><a href="{}">All {} stories of this provider</a></p>',
            items or format_html("<li>{}</li>", "No stories yet."),
            everything,
            provider._story_count if hasattr(provider, "_story_count") else provider.stories.count(),
        )

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm("providers.change_provider")

    @admin.action(description="Merge selected providers…", permissions=["merge"])
    def merge_selected(self, request, queryset):
        return merge_action(
            self, request, queryset, merge=workflow.merge_providers, noun="provider", action="merge_selected"
        )
