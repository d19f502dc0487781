"""A story's pending draft on its admin change page: its values in the form, a banner, and the
moderators' publish and discard (``stories.workflow.drafts``).

While a draft waits, the change form shows the draft's values for the story's own fields and
topics, and a save is a new draft over it (``drafts.edit(onto_draft=True)``). Related links and
images are read-only meanwhile: their rows are the live ones, and a draft's would have to be
shown and edited without rows of their own. The banner says so.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from providers.models import Provider

from ..imports.rows import story_values
from ..models import Revision, Story, Topic
from ..revisions.links import compare_url
from ..storyfile import record_from_json
from ..workflow import WorkflowError, may_moderate
from ..workflow.drafts import StaleDraftError, discard_draft, is_stale, publish_draft

INLINES_READ_ONLY = (
    "Its related links and images are read-only until the draft is published or discarded: "
    "they show the live story."
)


def draft_initial(draft: Revision) -> dict[str, Any]:
    """The change form's values for the story as ``draft`` has it: its own fields and topics."""
    values = story_values(record_from_json(draft.data["record"]))
    values.update(quality=draft.data["quality"], heat=draft.data["heat"])
    domain = draft.data.get("provider_domain")
    values["provider"] = Provider.objects.filter(domain=domain).first() if domain else None
    by_name = {t.name: t.pk for t in Topic.objects.filter(name__in=draft.data["topics"])}
    values["topic_choices"] = [by_name[name] for name in draft.data["topics"] if name in by_name]
    return values


class StoryDraftMixin:
    """For the Story admin: the draft banner's context and the publish and discard views."""

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/draft/<str:decision>/",
                self.admin_site.admin_view(self.draft_view),
                name="stories_story_draft",
            ),
        ]
        return custom + super().get_urls()

    def draft_context(self, request: HttpRequest, story: Story) -> dict:
        draft = story.draft_revision
        if draft is None:
            return {}
        return {
            "draft": draft,
            "draft_stale": is_stale(story, draft),
            "draft_moderator": may_moderate(request.user),
            "draft_compare_url": compare_url(story.pk),
            "draft_inlines_note": INLINES_READ_ONLY,
        }

    def draft_view(self, request: HttpRequest, object_id: str, decision: str) -> HttpResponse:
        return require_POST(self._draft_post)(request, object_id, decision)

    def _draft_post(self, request: HttpRequest, object_id: str, decision: str) -> HttpResponse:
        story = self.get_object(request, unquote(object_id))
        if story is None or decision not in ("publish", "discard"):
            raise Http404("No such story.")
        if not may_moderate(request.user):
            raise PermissionDenied("Only a moderator may publish or discard a draft.")
        version = request.POST.get("expected_version", "")
        expected = int(version) if version.isdigit() else None
        try:
            if decision == "publish":
                publish_draft(
                    story,
                    actor=request.user,
                    expected_version=expected,
                    confirm_stale="confirm_stale" in request.POST,
                )
                self.message_user(request, f"The draft of “{story.title}” is published.", messages.SUCCESS)
            else:
                discard_draft(story, actor=request.user, expected_version=expected)
                self.message_user(request, f"The draft of “{story.title}” was discarded.", messages.SUCCESS)
        except StaleDraftError as error:
            self.message_user(request, str(error), messages.WARNING)
        except (WorkflowError, PermissionDenied) as error:
            self.message_user(request, str(error), messages.ERROR)
        return redirect(reverse("admin:stories_story_change", args=[story.pk]))
