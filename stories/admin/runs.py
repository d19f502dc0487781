"""Import runs in the admin: a read-only record of what each import did, story by story.

Runs are written by the importer only. The upload of story files (preview, confirm)
lives under the run admin's URLs (``upload``).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..models import ImportRun, ImportRunStory, Story
from ..revisions.links import run_compare_urls
from .changelist import SafeChangeListMixin
from .conflicts import ImportRunConflictsMixin
from .run_revert import RunRevertMixin
from .upload import StoryFileUploadMixin

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


@admin.register(ImportRun)
class ImportRunAdmin(
    ImportRunConflictsMixin, RunRevertMixin, SafeChangeListMixin, StoryFileUploadMixin, admin.ModelAdmin
):
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
            *super().get_readonly_fields(request, obj),
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
        compare = run_compare_urls(run.pk, {entry.story_id for entry in entries if entry.story_id})
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
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
                    format_html('<a href="{}">Before vs after this import</a>', compare[entry.story_id])
                    if entry.story_id in compare
                    else "",
                )
                for entry in entries[:ENTRIES_SHOWN]
            ),
        )
        note = format_html("<p>First {} shown.</p>", ENTRIES_SHOWN) if more else ""
        return format_html(
            "<table><thead><tr><th>File</th><th>Outcome</th><th>Story</th><th>Editor's values kept</th>"
            "<th>{}</th><th>Compare</th></tr></thead><tbody>{}</tbody></table>{}",
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
