"""Import runs in the admin, and the upload of story files with preview and confirm.

The run admin is read-only: runs are written by the importer only. The upload
views live under the run admin's URLs:

- ``upload/``: an editor (``stories.import_stories``) sends story files or
  ``.zip`` archives; they are checked and stored server-side
  (``stories.imports.uploads``), then imported as a dry run and shown as a preview
  (``stories.imports.preview``).
- ``upload/<token>/confirm/``: imports the stored files for real, inside one
  transaction, and refuses (rolling everything back) if the outcome differs
  from the preview the user saw.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from ..imports import uploads
from ..imports.preview import PreviewMismatch, apply_upload, preview_upload
from ..models import ImportRun, ImportRunStory, Story
from .changelist import SafeChangeListMixin

IMPORT_PERMISSION = "stories.import_stories"
ENTRIES_SHOWN = 200
HELD_HEADING = "Held for a moderator (the story is published)"


def moderation_queue_url(run: ImportRun) -> str:
    return reverse("moderation:queue") + f"?import_run={run.pk}"


def runs_of_story_url(story: Story) -> str:
    return reverse("admin:stories_importrun_changelist") + f"?stories__id__exact={story.pk}"


def import_runs_link(story: Story) -> str:
    """A link from a story to the import runs that touched it (for the Story admin)."""
    if story.pk is None:
        return "—"
    return format_html('<a href="{}">Import runs of this story</a>', runs_of_story_url(story))


# --- Import runs -------------------------------------------------------------------------------


@admin.register(ImportRun)
class ImportRunAdmin(SafeChangeListMixin, admin.ModelAdmin):
    list_display = (
        "__str__", "started_at", "via", "started_by", "short_source", "status",
        "created", "updated", "unchanged", "conflicts", "failed", "duration_display",
    )
    list_filter = ("via", "status", "started_at")
    list_select_related = ("started_by", "reverted_by")
    search_fields = ("source", "started_by__username")
    date_hierarchy = "started_at"
    change_list_template = "admin/stories/importrun/change_list.html"
    fieldsets = (
        (None, {"fields": ("via", "source", "started_by", "status")}),
        ("When", {"fields": ("started_at", "finished_at", "duration_display", "reverted_at", "reverted_by")}),
        ("Counts", {"fields": ("created", "updated", "unchanged", "conflicts", "failed")}),
        ("Stories", {"fields": ("stories_links", "entries_table")}),
        ("Failures", {"fields": ("error", "failures_table")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # Runs are a record written by the importer: nothing on this page is editable.
        return [
            "via", "source", "started_by", "status", "started_at", "finished_at",
            "duration_display", "reverted_at", "reverted_by", "created", "updated", "unchanged",
            "conflicts", "failed", "stories_links", "entries_table", "error", "failures_table",
        ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def lookup_allowed(self, lookup, value, request=None):
        # The story page links here filtered on one story.
        if lookup in ("stories__id__exact", "stories__id"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="source", ordering="source")
    def short_source(self, run: ImportRun) -> str:
        return run.source if len(run.source) <= 60 else run.source[:57] + "…"

    @admin.display(description="duration")
    def duration_display(self, run: ImportRun) -> str:
        duration = run.duration
        if duration is None:
            return "—"
        return f"{duration.total_seconds():.1f} s"

    @admin.display(description="stories")
    def stories_links(self, run: ImportRun) -> str:
        changelist = reverse("admin:stories_story_changelist") + f"?import_runs__id__exact={run.pk}"
        return format_html(
            '<a href="{}">All stories of this run in the story list</a> · '
            '<a href="{}">Open this run\'s stories in the moderation queue</a>',
            changelist,
            moderation_queue_url(run),
        )

    @admin.display(description="what happened to each story")
    def entries_table(self, run: ImportRun) -> str:
        # Only the story's title: a story row with a date Python cannot hold could not be loaded.
        entries = list(
            ImportRunStory.objects.filter(run=run)
            .select_related("story")
            .only("path", "outcome", "conflicts", "held", "story__title")
            .order_by("id")[: ENTRIES_SHOWN + 1]
        )
        if not entries:
            return "—"
        more = len(entries) > ENTRIES_SHOWN
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    entry.path,
                    entry.get_outcome_display(),
                    format_html(
                        '<a href="{}">{}</a>',
                        reverse("admin:stories_story_change", args=[entry.story_id]),
                        entry.story.title,
                    )
                    if entry.story_id
                    else "(removed)",
                    ", ".join(name for name in entry.conflicts or [] if name not in (entry.held or [])),
                    ", ".join(entry.held or []),
                )
                for entry in entries[:ENTRIES_SHOWN]
            ),
        )
        note = format_html("<p>First {} shown.</p>", ENTRIES_SHOWN) if more else ""
        return format_html(
            "<table><thead><tr><th>File</th><th>Outcome</th><th>Story</th><th>Editor's values kept</th>"
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>{}",
            HELD_HEADING,
            rows,
            note,
        )

    @admin.display(description="failures")
    def failures_table(self, run: ImportRun) -> str:
        failures = run.failures or []
        if not failures:
            return "—"
        return format_html(
            "<table><thead><tr><th>File</th><th>Reason</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td></tr>",
                ((f.get("path", ""), f.get("reason", "")) for f in failures),
            ),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportRun]:
        return super().get_queryset(request).select_related("started_by", "reverted_by")

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["can_upload"] = request.user.has_perm(IMPORT_PERMISSION)
        return super().changelist_view(request, extra_context)

    # --- upload views --------------------------------------------------------------------------

    def get_urls(self):
        urls = super().get_urls()
        # The upload view installs its own upload handler, so it does its own CSRF check
        # once the handler is in place (see upload_view).
        upload = csrf_exempt(self.upload_view)
        return [
            path("upload/", self.admin_site.admin_view(upload), name="stories_importrun_upload"),
            path(
                "upload/<str:token>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="stories_importrun_upload_confirm",
            ),
            path(
                "upload/<str:token>/discard/",
                self.admin_site.admin_view(self.discard_view),
                name="stories_importrun_upload_discard",
            ),
        ] + urls

    def _check_import_permission(self, request: HttpRequest) -> None:
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied("You do not have permission to import stories.")

    def _context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        context = dict(self.admin_site.each_context(request))
        context.update({"opts": self.opts, "title": "Upload story files", **extra})
        return context

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        self._check_import_permission(request)
        limits = uploads.UploadLimits.from_settings()
        if request.method != "POST":
            return self._render_form(request, UploadForm(), limits)
        handler = uploads.LimitedUploadHandler(
            request, max_bytes=limits.max_total_bytes, max_files=limits.max_files
        )
        request.upload_handlers.insert(0, handler)
        return csrf_protect(self._receive_upload)(request, handler, limits)

    def _render_form(self, request, form, limits, status: int = 200) -> HttpResponse:
        return TemplateResponse(
            request,
            "admin/stories/importrun/upload.html",
            self._context(request, form=form, limits=limits),
            status=status,
        )

    def _receive_upload(self, request, handler, limits) -> HttpResponse:
        form = UploadForm(request.POST, request.FILES)
        if handler.refusal:
            form.add_error(None, handler.refusal + " Nothing was stored.")
            return self._render_form(request, form, limits, status=400)
        if not form.is_valid():
            return self._render_form(request, form, limits, status=400)
        try:
            upload = uploads.store_upload(files=form.cleaned_data["files"], user=request.user, limits=limits)
        except uploads.UploadRefused as exc:
            form.add_error(None, f"{exc} Nothing was stored.")
            return self._render_form(request, form, limits, status=400)
        return self._preview(request, upload)

    def _preview(self, request, upload: uploads.StoredUpload, *, refusal: str = "") -> HttpResponse:
        preview = preview_upload(upload, actor=request.user)
        return TemplateResponse(
            request,
            "admin/stories/importrun/preview.html",
            self._context(
                request,
                title="Preview of the upload",
                upload=upload,
                rows=preview.rows,
                counts=preview.counts,
                held_count=preview.held_count,
                refusal=refusal,
                applicable=preview.applicable,
            ),
        )

    @method_decorator(require_POST)
    def confirm_view(self, request: HttpRequest, token: str) -> HttpResponse:
        self._check_import_permission(request)
        try:
            upload = uploads.load_upload(token=token, user=request.user)
        except uploads.UploadNotFound:
            messages.error(request, "This upload has expired or is unknown; please upload the files again.")
            return HttpResponseRedirect(reverse("admin:stories_importrun_upload"))
        try:
            report = apply_upload(upload, actor=request.user)
        except PreviewMismatch:
            return self._preview(
                request,
                upload,
                refusal=(
                    "Nothing was imported: the outcome would differ from the preview you saw "
                    "(stories changed in the meantime). Here is the new preview; "
                    "confirm again if it is right."
                ),
            )
        uploads.discard_upload(token=upload.token)
        run = report.run
        messages.success(
            request,
            f"Imported {len(report.results)} files: "
            + ", ".join(f"{n} {name}" for name, n in report.counts.items() if n)
            + ".",
        )
        return HttpResponseRedirect(reverse("admin:stories_importrun_change", args=[run.pk]))

    @method_decorator(require_POST)
    def discard_view(self, request: HttpRequest, token: str) -> HttpResponse:
        self._check_import_permission(request)
        try:
            upload = uploads.load_upload(token=token, user=request.user)
        except uploads.UploadNotFound:
            pass
        else:
            uploads.discard_upload(token=upload.token)
            messages.info(request, "The upload was discarded; nothing was imported.")
        return HttpResponseRedirect(reverse("admin:stories_importrun_upload"))


# --- Upload form ---------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".txt,.md,.yaml,.yml,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Story files",
        help_text="Several story files at once, or .zip archives of them.",
    )


class StoryImportRunsMixin:
    """For the Story admin: a link from each story to the import runs that touched it."""

    @admin.display(description="import runs")
    def import_runs_link(self, story: Story) -> str:
        return import_runs_link(story)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "import_runs_link")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append(("Import runs", {"fields": ("import_runs_link",)}))
        return fieldsets
