"""Reverting an import run in the admin: a preview of what it would delete, restore and keep
(``stories.imports.revert_plan``), then a confirm POST that carries out that plan, refused when
the plan changed since the preview (``undo.revert_import_run(expected=...)``). Moderators only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..imports.revert_plan import DELETE, KEEP, RESTORE
from ..imports.undo import RevertError, may_revert, plan_revert, revert_import_run
from ..models import ImportRun
from ..workflow import WorkflowError


class RunRevertMixin:
    """For the import run admin: the revert preview and its confirmation."""

    def get_urls(self):
        return [
            path(
                "<int:run_id>/revert/",
                self.admin_site.admin_view(self.revert_view),
                name="stories_importrun_revert",
            ),
        ] + super().get_urls()

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "revert_link")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and obj.status != ImportRun.Status.REVERTED and may_revert(request.user):
            fieldsets.append(("Undo", {"fields": ("revert_link",)}))
        return fieldsets

    @admin.display(description="revert")
    def revert_link(self, run: ImportRun) -> str:
        return format_html(
            '<a class="button" href="{}">Preview reverting this run…</a> Nothing changes until you confirm.',
            reverse("admin:stories_importrun_revert", args=[run.pk]),
        )

    def revert_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        if not may_revert(request.user):
            raise PermissionDenied("You do not have permission to revert import runs.")
        run = get_object_or_404(ImportRun, pk=run_id)
        run_page = reverse("admin:stories_importrun_change", args=[run.pk])
        refusal = ""
        if request.method == "POST":
            try:
                report = revert_import_run(run, actor=request.user, expected=request.POST.get("plan", ""))
            except (RevertError, WorkflowError) as exc:
                refusal = str(exc)
            else:
                messages.success(request, f"Import #{run.pk} reverted: {report.summary()}.")
                for kept in report.kept:
                    messages.warning(request, f"Kept #{kept.story_id} {kept.title}: {kept.reason}.")
                return HttpResponseRedirect(run_page)
        try:
            plan = plan_revert(run)
        except RevertError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(run_page)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Revert import #{run.pk}?",
            "run": run,
            "plan": plan,
            "groups": [
                ("Deleted: the run created them and nobody worked on them since", plan.of(DELETE)),
                ("Restored to the revision before the run", plan.of(RESTORE)),
                ("Kept as they are", plan.of(KEEP)),
            ],
            "refusal": refusal,
        }
        status = 409 if refusal else 200
        return TemplateResponse(request, "admin/stories/importrun/revert.html", context, status=status)
