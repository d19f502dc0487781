"""Stories in the admin: the list, the change page, and saving through the workflow.

Every write goes through ``stories.workflow``: list_editable rows, the change
form with its related-link and image inlines (one call, one version check, all
or nothing), the workflow panel (``workflow_panel``) and every bulk action
(``bulk_actions``). A non-moderator's change to what readers see of a published
story is saved as a draft for a moderator (``workflow.drafts``); a story with a
pending draft shows the draft in its form, with a banner (``drafts``).
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal

from .. import workflow
from ..forms import version_field_name
from ..models import RelatedLink, State, Story
from ..workflow import CONTENT_FIELDS, WorkflowError
from ..workflow.drafts import DRAFT_SAVED, edit
from .bulk_actions import StoryBulkActionsMixin
from .changelist import CappedChangeListMixin
from .conflicts import StoryConflictsMixin
from .drafts import StoryDraftMixin, draft_initial
from .forms import StoryAdminForm, StoryChangelistForm
from .history import story_history
from .images import lead_thumbnail
from .inlines import ImageInline, RelatedLinkInline
from .list_filters import AutocompleteListFilter, StoryTypeListFilter
from .readers import ReaderVersionAdminMixin
from .revisions import StoryRevisionsMixin, revisions_link
from .runs import StoryImportRunsMixin
from .spreadsheet import StorySpreadsheetMixin
from .workflow_panel import StoryWorkflowPanelMixin

logger = logging.getLogger(__name__)
UNREADABLE_SHOWN = 20


class QualityBandFilter(admin.SimpleListFilter):
    title = "quality band"
    parameter_name = "quality_band"
    BANDS = {
        "none": ("No quality", Q(quality__isnull=True)),
        "low": ("Below 25", Q(quality__lt=25)),
        "mid": ("25–49", Q(quality__gte=25, quality__lt=50)),
        "good": ("50–74", Q(quality__gte=50, quality__lt=75)),
        "high": ("75 and above", Q(quality__gte=75)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.BANDS.items()]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value() or "")
        return queryset.filter(band[1]) if band else queryset


@admin.register(Story)
class StoryAdmin(
    CappedChangeListMixin,
    StoryImportRunsMixin,
    StoryRevisionsMixin,
    StoryConflictsMixin,
    StorySpreadsheetMixin,
    StoryWorkflowPanelMixin,
    StoryDraftMixin,
    StoryBulkActionsMixin,
    ReaderVersionAdminMixin,
    admin.ModelAdmin,
):
    form = StoryAdminForm
    change_form_template = "admin/stories/story/change_form.html"
    list_display = (
        lead_thumbnail,
        "title",
        "provider",
        "state_column",
        "quality",
        "heat",
        "published_at",
        "topic_list",
    )
    list_display_links = ("title",)
    list_editable = ("quality", "heat")
    # Each filter costs a fixed number of index probes, whatever the size of the tables
    # (list_filters); the count is capped and the drill-down is a calendar (changelist).
    list_filter = (
        "state",
        ("provider", AutocompleteListFilter),
        ("topics", AutocompleteListFilter),
        ("type", StoryTypeListFilter),
        "published_at",
        QualityBandFilter,
    )
    show_facets = admin.ShowFacets.NEVER
    list_select_related = ("provider",)
    list_per_page = 50
    # Searched through trigram indexes on PostgreSQL (get_search_results, Story.objects.containing).
    search_fields = ("title", "excerpt", "provider__name")
    autocomplete_fields = ("provider",)
    date_hierarchy = "published_at"
    inlines = (RelatedLinkInline, ImageInline)
    readonly_fields = (
        "state",
        "state_comment",
        "go_live_at",
        "expire_at",
        "editor_touched",
        "version",
        "history",
    )
    fieldsets = (
        (
            None,
            {"fields": ("title", "provider", "provider_name", "category", "type", "excerpt", "published_at")},
        ),
        ("Editorial", {"fields": ("quality", "heat", "topic_choices", "expected_version")}),
        (
            "Workflow",
            {"fields": ("state", "state_comment", "go_live_at", "expire_at", "editor_touched", "version")},
        ),
        ("Links", {"fields": ("web_url", "original_url", "amp_web_url", "cdn_amp_web_url")}),
        ("Source", {"classes": ("collapse",), "fields": ("featured_content", "secured", "body")}),
        ("History", {"fields": ("history",)}),
    )

    # --- Lists ---------------------------------------------------------------------------------

    @property
    def media(self):
        autocomplete = AutocompleteSelect(Story._meta.get_field("provider"), self.admin_site).media
        filters = forms.Media(js=["admin/js/jquery.init.js", "newsroom/admin_filters.js"])
        return super().media + autocomplete + filters

    def get_search_results(self, request, queryset, search_term):
        # Every word in the title, the excerpt or the provider's name, as Django's search does,
        # written so that each part can use its index (Story.objects.containing).
        for word in smart_split(search_term):
            if len(word) > 1 and word[0] in "\"'" and word[0] == word[-1]:
                word = unescape_string_literal(word)
            queryset = queryset.containing(word)
        return queryset, False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Story]:
        # Provider, topics and lead image in a fixed number of queries, whatever the page size.
        # A row whose dates Python cannot hold (PostgreSQL keeps year 10000) cannot be loaded:
        # left out of the list, the change page and the actions, and named by changelist_view.
        return super().get_queryset(request).readable().with_cards()

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            self._name_unreadable(request)
        return super().changelist_view(request, extra_context)

    def _name_unreadable(self, request: HttpRequest) -> None:
        unreadable = list(
            Story.objects.unreadable().order_by("pk").values_list("pk", flat=True)[:UNREADABLE_SHOWN]
        )
        for story_id in unreadable:
            logger.error("story %s left out of the admin: a date is outside years 1-9999", story_id)
        if unreadable:
            more = " and more" if len(unreadable) == UNREADABLE_SHOWN else ""
            ids = ", ".join(map(str, unreadable)) + more
            self.message_user(
                request,
                f"Stories with a date outside years 1–9999 cannot be shown or changed here (ids {ids}).",
                messages.ERROR,
            )

    @admin.display(description="state", ordering="state")
    def state_column(self, story: Story) -> str:
        # The hidden version travels with the changelist form: list_editable rows and bulk
        # actions use it to refuse stories that changed after the page was rendered.
        return format_html(
            '{}<input type="hidden" name="{}" value="{}">',
            story.get_state_display(),
            version_field_name(story.pk),
            story.version,
        )

    @admin.display(description="topics")
    def topic_list(self, story: Story) -> str:
        return ", ".join(story.topic_names())

    @admin.display(description="history")
    def history(self, story: Story) -> str:
        return format_html("{}{}", revisions_link(story), story_history(story))

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", StoryChangelistForm)
        return super().get_changelist_form(request, **kwargs)

    # --- The change page -----------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Stories come from story files (import command or admin upload), which give them their
        # identity; an empty hand-made story would have none.
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None or obj.draft_revision is None:
            return form
        # The form edits the pending draft: its values are the form's initial ones.
        return type(form.__name__, (form,), {"draft_values": draft_initial(obj.draft_revision)})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        story = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if (
            story is not None
            and request.method == "GET"
            and story.draft_revision_id is None
            and workflow.held_for_moderator(story, request.user, workflow.READER_FIELDS)
        ):
            self.message_user(
                request,
                f"“{story.title}” is published: only a moderator can change what readers see, so a "
                "change to its content, topics, related links or images is saved as a draft that a "
                "moderator reviews. Quality and heat change at once.",
                messages.INFO,
            )
        if story is not None:
            extra_context.update(self.workflow_panel_context(request, story))
            extra_context.update(self.draft_context(request, story))
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Saving: everything editorial through the workflow service ------------------------------

    def seen_by_readers(self, rows: QuerySet) -> bool:
        # Deleting a published story (its edits move the reader version through the workflow).
        return rows.filter(state=State.PUBLISHED).exists()

    def save_model(self, request, obj: Story, form, change: bool) -> None:
        # Written in save_related together with the inlines: one workflow call, one version
        # check, all or nothing. Django calls save_related for list_editable rows too.
        return None

    def save_related(self, request, form, formsets, change: bool) -> None:
        current = Story.objects.with_cards().get(pk=form.instance.pk)
        changed = set(form.changed_data)
        edits: dict = {name: form.cleaned_data[name] for name in ("quality", "heat") if name in changed}
        if "topic_choices" in changed:
            edits["topics"] = form.chosen_topics()
        content = {name: form.cleaned_data[name] for name in changed if name in CONTENT_FIELDS}
        for formset in formsets:
            formset.save(commit=False)  # collects what the person added, changed and deleted; writes nothing
            part = "related" if formset.model is RelatedLink else "images"
            edits[part] = workflow.RowChanges(
                added=formset.new_objects, changed=formset.changed_objects, deleted=formset.deleted_objects
            )
        # The change form carries the version in a hidden field; a changelist row posts it beside.
        # The change form shows (and edits) a pending draft; a changelist row shows the live story.
        change_form = "expected_version" in form.fields
        if change_form:
            expected = form.cleaned_data.get("expected_version")
        else:
            expected = getattr(form, "expected_version", None)
        try:
            done = edit(
                current,
                actor=request.user,
                content=content,
                expected_version=expected,
                onto_draft=change_form and current.draft_revision_id is not None,
                **edits,
            )
        except (WorkflowError, PermissionDenied) as error:
            self.message_user(request, f"“{current.title}” was not saved: {error}", messages.ERROR)
            request.story_not_saved = True
        else:
            request.story_drafted = done.draft is not None
        form.instance.version = current.version

    def log_change(self, request, obj, message):
        if getattr(request, "story_not_saved", False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(request, "story_drafted", False):
            self.message_user(request, f"“{obj.title}”: {DRAFT_SAVED}", messages.SUCCESS)
        if getattr(request, "story_not_saved", False) or getattr(request, "story_drafted", False):
            # Back to the page, without Django's "changed successfully": nothing was (readers
            # see no change).
            return redirect(reverse("admin:stories_story_change", args=[obj.pk]))
        return super().response_change(request, obj)
