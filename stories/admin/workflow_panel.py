"""The workflow panel on a story's change page: the moves the person may make, and its schedule.

The panel posts to ``<id>/workflow/`` (URL name ``admin:stories_story_workflow``); the
transition or the new window goes through the workflow with the version the page showed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from .. import workflow
from ..models import AuditEntry, Story
from ..workflow import WorkflowError
from .forms import WorkflowForm

SCHEDULE = AuditEntry.Action.SCHEDULE


class StoryWorkflowPanelMixin:
    """For the Story admin: the panel's context on the change page, and the view it posts to."""

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/workflow/",
                self.admin_site.admin_view(self.workflow_view),
                name="stories_story_workflow",
            ),
        ]
        return custom + super().get_urls()

    def workflow_panel_context(self, request: HttpRequest, story: Story) -> dict:
        return {
            "workflow_transitions": workflow.available_transitions(story, request.user),
            "can_schedule": workflow.may(request.user, SCHEDULE),
            "workflow_form": WorkflowForm(
                initial={
                    "expected_version": story.version,
                    "go_live_at": story.go_live_at,
                    "expire_at": story.expire_at,
                }
            ),
        }

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
        try:
            self._apply_panel(request, story, form.cleaned_data)
        except WorkflowError as error:
            self.message_user(request, str(error), messages.ERROR)
        return redirect(back)

    def _apply_panel(self, request: HttpRequest, story: Story, data: dict) -> None:
        common = {
            "actor": request.user,
            "expected_version": data["expected_version"],
            "comment": data["comment"],
        }
        window = {"go_live_at": data["go_live_at"], "expire_at": data["expire_at"]}
        if data["action"] == SCHEDULE:
            workflow.schedule(story, **common, **window)
            self.message_user(request, f"Schedule of “{story.title}” saved.", messages.SUCCESS)
            return
        # Only publishing takes a window; the other moves ignore the panel's dates.
        extra = window if data["action"] == workflow.PUBLISH else {}
        workflow.transition(story, action=data["action"], **common, **extra)
        self.message_user(
            request, f"“{story.title}” is now {story.get_state_display().lower()}.", messages.SUCCESS
        )
