"""Providers in the admin: name, domain and logo.

The newsroom's own additions (each provider's stories, merging duplicates, the story
file format's rules on the form) come from ``stories.admin.providers``, which extends
this admin: providers know nothing of stories.
"""

from __future__ import annotations

from django.contrib import admin

from .models import Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "domain")
    search_fields = ("name", "domain")
    # Alphabetical, and a total order: the autocomplete pages through this list.
    ordering = ("name", "pk")
    readonly_fields = ("created_at",)
    fields = ("name", "domain", "logo_url", "logo_width", "logo_height", "created_at")
