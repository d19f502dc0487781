"""A story's revisions in the admin: the list, comparing any two, and restoring an older one.

``<id>/revisions/`` lists them newest first (who, when, why, which is live, which a pending
draft); ``<id>/revisions/compare/?a=&b=`` compares two (by default live vs draft when a draft
is pending, else the newest against the one it was based on); ``<id>/revisions/<rev>/restore/``
(POST) restores one as a new revision through the workflow. Viewing needs
``stories.view_story``, restoring ``stories.change_story`` and the workflow's own checks.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from ..models import Revision, Story
from ..revisions.compare import compare
from ..revisions.links import compare_url, revisions_url
from ..revisions.restore import restore_revision
from ..workflow import WorkflowError
from ..workflow.drafts import DRAFT_SAVED
from ..workflow.revisions import latest_revision, live_revision

REVISIONS_PER_PAGE = 25
CHOICES_SHOWN = 200  # revisions offered in the compare page's choosers


MAX_ID = 2**63 - 1  # the largest id a database holds; a larger one names no revision


def _revision_id(value) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is not None and 0 < number <= MAX_ID else None


def default_pair(story: Story) -> tuple[Revision | None, Revision | None]:
    """Live vs draft when a draft is pending; else the newest revision and the one it was based on."""
    if story.draft_revision_id:
        draft = Revision.objects.filter(pk=story.draft_revision_id).first()
        if draft is not None:
            return live_revision(story), draft
    newest = latest_revision(story)
    return (newest.based_on if newest is not None else None), newest


def chosen_pair(story: Story, params) -> tuple[Revision | None, Revision | None]:
    """The two revisions ``params`` (``a``, ``b``) name, the older first; the default for those missing."""
    wanted = {_revision_id(params.get("a")), _revision_id(params.get("b"))} - {None}
    found = {r.pk: r for r in story.revisions.select_related("author", "based_on").filter(pk__in=wanted)}
    before, after = found.get(_revision_id(params.get("a"))), found.get(_revision_id(params.get("b")))
    if before is None and after is None:
        return default_pair(story)
    if after is None:
        after = latest_revision(story)
    if before is None and "a" not in params:
        before = after.based_on
    if before is not None and after is not None and before.pk > after.pk:
        before, after = after, before
    return before, after


def revisions_link(story: Story) -> str:
    """The history's link to the story's revisions (compare, restore)."""
    if story.pk is None:
        return ""
    return format_html(
        '<p><a href="{}">Revisions of this story: compare and restore</a></p>', revisions_url(story.pk)
    )


class StoryRevisionsMixin:
    """For the Story admin: the revisions pages of a story."""

    def get_urls(self):
        view = self.admin_site.admin_view
        custom = [
            path("<path:object_id>/revisions/", view(self.revisions_view), name="stories_story_revisions"),
            path(
                "<path:object_id>/revisions/compare/",
                view(self.revision_compare_view),
                name="stories_story_revision_compare",
            ),
            path(
                "<path:object_id>/revisions/<int:revision_id>/restore/",
                view(self.revision_restore_view),
                name="stories_story_revision_restore",
            ),
        ]
        return custom + super().get_urls()

    def _revisions_story(self, request: HttpRequest, object_id: str) -> Story:
        story = self.get_object(request, unquote(object_id))
        if story is None:
            raise Http404("No such story.")
        if not self.has_view_permission(request, story):
            raise PermissionDenied
        return story

    def _revisions_context(self, request: HttpRequest, story: Story, title: str) -> dict:
        live = live_revision(story)
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": story,
            "title": title,
            "live_id": live.pk if live is not None else None,
            "draft_id": story.draft_revision_id,
            "can_restore": self.has_change_permission(request, story),
        }

    @staticmethod
    def _newest_first(story: Story):
        return story.revisions.select_related("author").defer("data").order_by("-id")

    def revisions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_GET(self._revisions_get)(request, object_id)

    def _revisions_get(self, request: HttpRequest, object_id: str) -> HttpResponse:
        story = self._revisions_story(request, object_id)
        page = Paginator(self._newest_first(story), REVISIONS_PER_PAGE).get_page(request.GET.get("page"))
        context = self._revisions_context(request, story, f"Revisions of “{story.title}”")
        context.update({"page": page, "revisions": page.object_list, "compare_url": compare_url(story.pk)})
        return TemplateResponse(request, "admin/stories/story/revisions.html", context)

    def revision_compare_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_GET(self._compare_get)(request, object_id)

    def _compare_get(self, request: HttpRequest, object_id: str) -> HttpResponse:
        story = self._revisions_story(request, object_id)
        before, after = chosen_pair(story, request.GET)
        context = self._revisions_context(request, story, f"Compare revisions of “{story.title}”")
        context.update(
            {
                "before": before,
                "after": after,
                "comparison": compare(before.data if before else None, after.data) if after else None,
                "choices": list(self._newest_first(story)[:CHOICES_SHOWN]),
                "revisions_url": revisions_url(story.pk),
            }
        )
        return TemplateResponse(request, "admin/stories/story/revision_compare.html", context)

    def revision_restore_view(self, request: HttpRequest, object_id: str, revision_id: int) -> HttpResponse:
        return require_POST(self._restore_post)(request, object_id, revision_id)

    def _restore_post(self, request: HttpRequest, object_id: str, revision_id: int) -> HttpResponse:
        story = self._revisions_story(request, object_id)
        if not self.has_change_permission(request, story):
            raise PermissionDenied
        revision = story.revisions.filter(pk=revision_id).first() if _revision_id(revision_id) else None
        if revision is None:
            raise Http404("No such revision of this story.")
        # Back to the page the button was on (the list or the compare page), never elsewhere.
        back = request.POST.get("next", "")
        if not back.startswith(revisions_url(story.pk)):
            back = revisions_url(story.pk)
        try:
            newest, changes = restore_revision(
                revision, actor=request.user, expected_version=_revision_id(request.POST.get("version"))
            )
        except (WorkflowError, PermissionDenied) as error:
            reason = str(error) or "you may not change this story."
            self.message_user(request, f"Revision #{revision.pk} was not restored: {reason}", messages.ERROR)
            return redirect(back)
        if not changes.changed:
            self.message_user(
                request, f"“{story.title}” already is as revision #{revision.pk} has it.", messages.INFO
            )
        else:
            made = f" as revision #{newest.pk}" if newest is not None else ""
            if newest is not None and newest.is_draft:
                made += f": {DRAFT_SAVED}"
            self.message_user(request, f"Revision #{revision.pk} restored{made}.", messages.SUCCESS)
        return redirect(revisions_url(story.pk))
