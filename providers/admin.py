"""Admin for providers: their stories, and merging duplicates."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from stories import workflow
from stories.admin.story import merge_action
from stories.models import Story
from stories.validators import count_validators, validate_one_line

from .models import Provider

STORIES_SHOWN = 50


class ProviderForm(forms.ModelForm):
    """A moderator's provider obeys the rules of a provider in a story file (the domain's and the logo
    URL's are the model's)."""

    RULES = {
        "name": [validate_one_line],
        "logo_width": count_validators,
        "logo_height": count_validators,
    }

    class Meta:
        model = Provider
        fields = ("name", "domain", "logo_url", "logo_width", "logo_height")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, validators in self.RULES.items():
            if name in self.fields:
                self.fields[name].validators.extend(validators)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ("name", "domain", "story_count")
    search_fields = ("name", "domain")
    # Alphabetical, and a total order: the autocomplete pages through this list.
    ordering = ("name", "pk")
    readonly_fields = ("created_at", "stories")
    fields = ("name", "domain", "logo_url", "logo_width", "logo_height", "created_at", "stories")
    actions = ("merge_selected",)

    def get_queryset(self, request):
        # A count groups the rows, and a grouped query drops the model's default order:
        # the autocomplete would page through an unordered list.
        return super().get_queryset(request).annotate(_story_count=Count("stories")).order_by("name", "pk")

    @admin.display(description="stories", ordering="_story_count")
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
