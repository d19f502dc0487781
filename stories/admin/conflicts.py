"""Import conflicts in the admin: the story's value and the file's side by side, on the import
run's page and on the story's page, with one-click accept and dismiss for moderators.

The buttons post (with the page form's CSRF token) to views under the import run admin's URLs;
each answer goes through ``stories.imports.conflicts`` (the workflow), and a refusal (stale,
already answered, not allowed) is shown as a message. A run's page also answers all of its
open conflicts at once.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from ..imports.conflicts import (
    accept_conflict,
    dismiss_conflict,
    open_conflicts,
    proposed_values,
    resolve_run,
)
from ..models import ImportRun, ImportRunStory, Story
from ..workflow import WorkflowError, may_moderate

CONFLICTS_SHOWN = 200
VALUE_SHOWN = 300


def _shown(value) -> str:
    """A kept or proposed value as text: a list or mapping as JSON."""
    if value is None or value == "":
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=False)
    return text if len(text) <= VALUE_SHOWN else text[: VALUE_SHOWN - 1] + "…"


def _buttons(entry: ImportRunStory, back: str) -> str:
    after = "?" + urlencode({"next": back})
    return format_html(
        '<button type="submit" class="button" formmethod="post" formaction="{}" formnovalidate>'
        "Accept the file's</button> "
        '<button type="submit" class="button" formmethod="post" formaction="{}" formnovalidate>'
        "Dismiss</button>",
        reverse("admin:stories_importrun_conflict", args=[entry.pk, "accept"]) + after,
        reverse("admin:stories_importrun_conflict", args=[entry.pk, "dismiss"]) + after,
    )


def conflicts_table(entries: list[ImportRunStory], *, back: str | None, story_column: bool) -> str:
    """Open conflicts, one row per conflicting key; a moderator's page (``back``: its address,
    where an answer returns) has the buttons."""
    if not entries:
        return "—"
    rows = []
    for entry in entries:
        values = proposed_values(entry)
        for index, (key, kept, proposed) in enumerate(values):
            first = index == 0
            story = format_html(
                '<a href="{}">{}</a>',
                reverse("admin:stories_story_change", args=[entry.story_id]),
                entry.story.title,
            )
            rows.append(
                (
                    story if story_column and first else "",
                    f"#{entry.run_id}" if not story_column and first else "",
                    key,
                    "held for a moderator" if key in (entry.held or []) else "kept the person's",
                    _shown(kept),
                    _shown(proposed),
                    _buttons(entry, back) if back and first else "",
                )
            )
    body = format_html_join(
        "",
        '<tr class="import-conflict"><td>{}{}</td>' + "<td>{}</td>" * 5 + "</tr>",
        rows,
    )
    return format_html(
        "<table><thead><tr><th>{}</th><th>Key</th><th>Why kept</th><th>Story value</th><th>File value</th>"
        "<th></th></tr></thead><tbody>{}</tbody></table>",
        "Story" if story_column else "Import",
        body,
    )


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    target = request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return HttpResponseRedirect(target if safe and target else fallback)


class ImportRunConflictsMixin:
    """For the import run admin: the run's open conflicts, the answer views and the bulk answers."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "conflicts/<int:entry_id>/<str:answer>/",
                view(require_POST(self.conflict_view)),
                name="stories_importrun_conflict",
            ),
            path(
                "<int:run_id>/conflicts/<str:answer>/",
                view(require_POST(self.run_conflicts_view)),
                name="stories_importrun_conflicts",
            ),
        ] + super().get_urls()

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "open_conflicts", "answer_conflicts")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and open_conflicts().filter(run=obj).exists():
            name = "answer_conflicts" if may_moderate(request.user) else "open_conflicts"
            fieldsets.insert(-1, ("Open conflicts", {"fields": (name,)}))
        return fieldsets

    def _run_conflicts(self, run: ImportRun) -> list[ImportRunStory]:
        return list(
            open_conflicts()
            .filter(run=run)
            .select_related("story")
            .only("run_id", "story__title", "held", "proposed")[:CONFLICTS_SHOWN]
        )

    @admin.display(description="the file's values the stories kept")
    def open_conflicts(self, run: ImportRun) -> str:
        return conflicts_table(self._run_conflicts(run), back=None, story_column=True)

    @admin.display(description="the file's values the stories kept")
    def answer_conflicts(self, run: ImportRun) -> str:
        back = reverse("admin:stories_importrun_change", args=[run.pk])
        table = conflicts_table(self._run_conflicts(run), back=back, story_column=True)
        return format_html(
            '{}<p><button type="submit" class="button" formmethod="post" formaction="{}" formnovalidate>'
            "Accept all open conflicts of this run</button> "
            '<button type="submit" class="button" formmethod="post" formaction="{}" formnovalidate>'
            "Dismiss all open conflicts of this run</button></p>",
            table,
            reverse("admin:stories_importrun_conflicts", args=[run.pk, "accept"]),
            reverse("admin:stories_importrun_conflicts", args=[run.pk, "dismiss"]),
        )

    def conflict_view(self, request: HttpRequest, entry_id: int, answer: str):
        entry = get_object_or_404(ImportRunStory, pk=entry_id)
        accept = self._accepting(answer)
        fallback = reverse("admin:stories_importrun_change", args=[entry.run_id])
        try:
            if accept:
                accept_conflict(entry, actor=request.user)
            else:
                dismiss_conflict(entry, actor=request.user)
        except WorkflowError as exc:
            messages.error(request, str(exc))
        else:
            done = (
                "accepted: the story now has the file's values"
                if accept
                else "dismissed: the story keeps its values"
            )
            messages.success(request, f"The conflict of import #{entry.run_id} was {done}.")
        return _back(request, fallback)

    def run_conflicts_view(self, request: HttpRequest, run_id: int, answer: str):
        run = get_object_or_404(ImportRun, pk=run_id)
        accept = self._accepting(answer)
        result = resolve_run(run, actor=request.user, accept=accept)
        verb = "accepted" if accept else "dismissed"
        messages.success(request, f"{result.done} open conflict{'s' if result.done != 1 else ''} {verb}.")
        for entry, reason in result.refused:
            messages.error(request, f"Story #{entry.story_id} not {verb}: {reason}")
        return HttpResponseRedirect(reverse("admin:stories_importrun_change", args=[run.pk]))

    def _accepting(self, answer: str) -> bool:
        if answer not in ("accept", "dismiss"):
            raise PermissionDenied("Unknown answer.")
        return answer == "accept"


class StoryConflictsMixin:
    """For the story admin: the story's open conflicts, answered with the run admin's views."""

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "story_conflicts", "answer_story_conflicts")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and open_conflicts().filter(story=obj).exists():
            name = "answer_story_conflicts" if may_moderate(request.user) else "story_conflicts"
            fieldsets.insert(1, ("Import conflicts: the file's values this story kept", {"fields": (name,)}))
        return fieldsets

    def _story_conflicts(self, story: Story) -> list[ImportRunStory]:
        return list(open_conflicts().filter(story=story).select_related("story")[:CONFLICTS_SHOWN])

    @admin.display(description="open conflicts")
    def story_conflicts(self, story: Story) -> str:
        return conflicts_table(self._story_conflicts(story), back=None, story_column=False)

    @admin.display(description="open conflicts")
    def answer_story_conflicts(self, story: Story) -> str:
        back = reverse("admin:stories_story_change", args=[story.pk])
        return conflicts_table(self._story_conflicts(story), back=back, story_column=False)
