"""Admin for stories, topics and the audit trail.

Every write goes through ``stories.workflow``: list_editable rows, the change
form with its related-link and image inlines (one call, one version check, all
or nothing), the workflow panel and every bulk action. The workflow refuses a
non-moderator's change to what readers see of a published story; the change
page shows them those fields and inlines read-only, and says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from stories import workflow
from stories.admin.changelist import SafeChangeListMixin
from stories.admin.images import lead_thumbnail
from stories.admin.imports import StoryImportRunsMixin
from stories.admin.spreadsheet import StorySpreadsheetMixin
from stories.forms import (
    ImageInlineForm,
    QualityHeatForm,
    RejectForm,
    RelatedLinkInlineForm,
    StoryAdminForm,
    StoryChangelistForm,
    TopicsForm,
    WorkflowForm,
    posted_versions,
    reason_for,
    version_field_name,
)
from stories.models import AuditEntry, Image, RelatedLink, Story, Topic
from stories.workflow import CONTENT_FIELDS, WorkflowError

logger = logging.getLogger(__name__)
UNREADABLE_SHOWN = 20


def _format_value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return Truncator(str(value)).chars(120)


def render_history(entries) -> str:
    """A readable, escaped table of audit entries."""
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{e.created_at:%Y-%m-%d %H:%M}",
                e.actor.get_username()
                if e.actor
                else (f"import #{e.import_run_id}" if e.import_run_id else "system"),
                e.action.replace("_", " "),
                e.field,
                _format_value(e.before),
                _format_value(e.after),
                e.comment,
            )
            for e in entries
        ),
    )
    if not rows:
        return "No changes recorded yet."
    return format_html(
        '<table class="audit-history"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Field</th>'
        "<th>Before</th><th>After</th><th>Comment</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


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


class HeldForModeratorInline(admin.TabularInline):
    """An inline that is read-only for someone who may not change it on this story
    (``workflow.held_for_moderator``: a published story's rows, for anyone but a moderator)."""

    story_field: str

    def _held(self, request, obj) -> bool:
        return obj is not None and bool(workflow.held_for_moderator(obj, request.user, [self.story_field]))

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


@admin.register(Story)
class StoryAdmin(SafeChangeListMixin, StoryImportRunsMixin, StorySpreadsheetMixin, admin.ModelAdmin):
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
    list_filter = ("state", "provider", "topics", "type", "published_at", QualityBandFilter)
    list_select_related = ("provider",)
    list_per_page = 50
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
    actions = (
        "publish_selected",
        "unpublish_selected",
        "submit_selected",
        "reject_selected",
        "attach_topics",
        "detach_topics",
        "set_quality_heat",
    )

    # --- Lists ---------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Story]:
        # Provider, topics and lead image in a fixed number of queries, whatever the page size.
        # A row whose dates Python cannot hold (PostgreSQL keeps year 10000) cannot be loaded:
        # left out of the list, the change page and the actions, and named by changelist_view.
        return super().get_queryset(request).readable().with_cards()

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
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
        return super().changelist_view(request, extra_context)

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
        return ", ".join(st.topic.name for st in story.story_topics.all())

    @admin.display(description="history")
    def history(self, story: Story) -> str:
        if not story.pk:
            return "—"
        entries = (
            AuditEntry.objects.filter(story=story).select_related("actor").order_by("-created_at", "-id")
        )
        return render_history(entries)

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", StoryChangelistForm)
        return super().get_changelist_form(request, **kwargs)

    # --- Saving: everything editorial through the workflow service ------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Stories come from story files (import command or admin upload), which give them their
        # identity; an empty hand-made story would have none.
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None:
            return form
        held = tuple(
            name
            for name in form.base_fields
            if workflow.held_for_moderator(obj, request.user, [form.STORY_FIELDS.get(name, name)])
        )
        return type(form.__name__, (form,), {"held_fields": held}) if held else form

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
        if "expected_version" in form.fields:
            expected = form.cleaned_data.get("expected_version")
        else:
            expected = getattr(form, "expected_version", None)
        try:
            workflow.update_editorial(
                current, actor=request.user, content=content, expected_version=expected, **edits
            )
        except (WorkflowError, PermissionDenied) as error:
            self.message_user(request, f"“{current.title}” was not saved: {error}", messages.ERROR)
            request.story_not_saved = True
        form.instance.version = current.version

    def log_change(self, request, obj, message):
        if getattr(request, "story_not_saved", False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(request, "story_not_saved", False):
            # Back to the page, without Django's "changed successfully": nothing was.
            return redirect(reverse("admin:stories_story_change", args=[obj.pk]))
        return super().response_change(request, obj)

    # --- The workflow panel --------------------------------------------------------------------

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/workflow/",
                self.admin_site.admin_view(self.workflow_view),
                name="stories_story_workflow",
            ),
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        story = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if story is not None and request.method == "GET" and workflow.held_for_moderator(
            story, request.user, workflow.READER_FIELDS
        ):
            self.message_user(
                request,
                f"“{story.title}” is published: only a moderator can change what readers see, so its "
                "content, topics, related links and images are read-only for you. "
                "You can change its quality and heat.",
                messages.WARNING,
            )
        if story is not None:
            extra_context["workflow_transitions"] = workflow.available_transitions(story, request.user)
            extra_context["can_schedule"] = workflow.may(request.user, "schedule")
            extra_context["workflow_form"] = WorkflowForm(
                initial={
                    "expected_version": story.version,
                    "go_live_at": story.go_live_at,
                    "expire_at": story.expire_at,
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def workflow_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._workflow_post)(request, object_id)

    def _workflow_post(self, request: HttpRequest, object_id: str) -> HttpResponse:
        story = self.get_object(request, unquote(object_id))
        if story is None:
            raise Http404("No such story.")
        if not self.has_view_or_change_permission(request, story):
            raise PermissionDenied
        back = reverse("admin:stories_story_change", args=[story.pk])
        form = WorkflowForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Nothing was changed: {form.errors.as_text()}", messages.ERROR)
            return redirect(back)
        data = form.cleaned_data
        try:
            if data["action"] == "schedule":
                workflow.schedule(
                    story,
                    actor=request.user,
                    go_live_at=data["go_live_at"],
                    expire_at=data["expire_at"],
                    expected_version=data["expected_version"],
                    comment=data["comment"],
                )
                self.message_user(request, f"Schedule of “{story.title}” saved.", messages.SUCCESS)
            else:
                window = {}
                if data["action"] == workflow.PUBLISH:
                    window = {"go_live_at": data["go_live_at"], "expire_at": data["expire_at"]}
                workflow.transition(
                    story,
                    action=data["action"],
                    actor=request.user,
                    comment=data["comment"],
                    expected_version=data["expected_version"],
                    **window,
                )
                self.message_user(
                    request, f"“{story.title}” is now {story.get_state_display().lower()}.", messages.SUCCESS
                )
        except WorkflowError as error:
            self.message_user(request, str(error), messages.ERROR)
        return redirect(back)

    # --- Bulk actions --------------------------------------------------------------------------

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("stories.publish_story")

    def has_submit_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("stories.submit_story")

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Story],
        verb: str,
        change: Callable[[Story, int | None], object],
    ) -> None:
        """Apply ``change`` to each selected story, skipping (and reporting) the ones that cannot take it."""
        stories = list(queryset.order_by("pk"))
        versions = posted_versions(request.POST, [s.pk for s in stories])
        done, skipped = workflow.apply_each(stories, change, versions=versions).summary(verb)
        if done:
            self.message_user(request, done)
        if skipped:
            self.message_user(request, skipped, messages.WARNING)

    def _transition_action(self, request, queryset, action: str, verb: str) -> None:
        self._apply(
            request,
            queryset,
            verb,
            lambda story, version: workflow.transition(
                story, action=action, actor=request.user, expected_version=version
            ),
        )

    @admin.action(description="Publish selected stories", permissions=["publish"])
    def publish_selected(self, request, queryset):
        self._transition_action(request, queryset, workflow.PUBLISH, "Published")

    @admin.action(description="Unpublish selected stories (back to review)", permissions=["publish"])
    def unpublish_selected(self, request, queryset):
        self._transition_action(request, queryset, workflow.UNPUBLISH, "Unpublished")

    @admin.action(description="Submit selected drafts for review", permissions=["submit"])
    def submit_selected(self, request, queryset):
        self._transition_action(request, queryset, workflow.SUBMIT, "Submitted")

    def _intermediate(self, request, queryset, *, action: str, title: str, form, template: str, **context):
        stories = list(queryset.order_by("pk"))
        versions = posted_versions(request.POST, [s.pk for s in stories])
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "action": action,
                "form": form,
                "rows": [(story, versions.get(story.pk, story.version)) for story in stories],
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                **context,
            },
        )

    @admin.action(description="Reject selected stories with a reason…", permissions=["publish"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            default = form.cleaned_data["reason"]
            self._apply(
                request,
                queryset,
                "Rejected",
                lambda story, version: workflow.transition(
                    story,
                    action=workflow.REJECT,
                    actor=request.user,
                    comment=reason_for(request.POST, story.pk, default),
                    expected_version=version,
                ),
            )
            return None
        return self._intermediate(
            request,
            queryset,
            action="reject_selected",
            title="Reject stories",
            form=form,
            template="admin/stories/story/reject_selected.html",
        )

    def _topics_action(self, request, queryset, *, action: str, attach: bool):
        form = TopicsForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            topics = list(form.cleaned_data["topics"])
            key = "add_topics" if attach else "remove_topics"
            self._apply(
                request,
                queryset,
                "Attached topics to" if attach else "Detached topics from",
                lambda story, version: workflow.update_editorial(
                    story, actor=request.user, expected_version=version, **{key: topics}
                ),
            )
            return None
        return self._intermediate(
            request,
            queryset,
            action=action,
            form=form,
            title="Attach topics to stories" if attach else "Detach topics from stories",
            template="admin/stories/story/bulk_form.html",
        )

    @admin.action(description="Attach topics to selected stories…", permissions=["change"])
    def attach_topics(self, request, queryset):
        return self._topics_action(request, queryset, action="attach_topics", attach=True)

    @admin.action(description="Detach topics from selected stories…", permissions=["change"])
    def detach_topics(self, request, queryset):
        return self._topics_action(request, queryset, action="detach_topics", attach=False)

    @admin.action(description="Set quality/heat of selected stories…", permissions=["change"])
    def set_quality_heat(self, request, queryset):
        form = QualityHeatForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if v is not None}
            self._apply(
                request,
                queryset,
                "Updated",
                lambda story, version: workflow.update_editorial(
                    story, actor=request.user, expected_version=version, **values
                ),
            )
            return None
        return self._intermediate(
            request,
            queryset,
            action="set_quality_heat",
            form=form,
            title="Set quality and heat",
            template="admin/stories/story/bulk_form.html",
        )


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "story_count")
    # Alphabetical, and a total order: the autocomplete pages through this list.
    ordering = ("name", "pk")
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


def merge_action(model_admin, request, queryset, *, merge, noun: str, action: str):
    """Pick the survivor among two or more duplicates, then merge through the service."""
    items = list(queryset)
    if len(items) < 2:
        model_admin.message_user(request, f"Select two or more duplicate {noun}s to merge.", messages.WARNING)
        return None
    survivor_pk = request.POST.get("survivor")
    if "apply" in request.POST and survivor_pk:
        survivor = next((item for item in items if str(item.pk) == survivor_pk), None)
        if survivor is None:
            model_admin.message_user(
                request, f"Choose the {noun} that stays among the selected ones.", messages.ERROR
            )
            return None
        try:
            moved = merge(
                survivor=survivor, duplicates=[i for i in items if i.pk != survivor.pk], actor=request.user
            )
        except WorkflowError as error:
            model_admin.message_user(request, str(error), messages.ERROR)
            return None
        model_admin.message_user(
            request,
            f"Merged {len(items) - 1} {noun}(s) into “{survivor}”; {moved} stories moved.",
            messages.SUCCESS,
        )
        return None
    return TemplateResponse(
        request,
        "admin/merge_selected.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": f"Merge {noun}s",
            "items": items,
            "action": action,
            "noun": noun,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


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
        if entry.actor_id:
            return entry.actor.get_username()
        return f"import #{entry.import_run_id}" if entry.import_run_id else "system"
