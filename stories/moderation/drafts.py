"""Drafts of live stories in the queue: changes to published stories that wait for a moderator
(``Story.draft_revision``), who proposed each and when, and the moderators' publish and discard.

Publishing a draft whose live story changed since it was written (a stale draft) needs the
row's "even if the live story changed since" box: otherwise it is refused and the message says
why (``workflow.drafts.StaleDraftError``).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ..models import Story
from ..revisions.links import compare_url
from ..templatetags.reader import plain_text
from ..workflow import WorkflowError, may_moderate
from ..workflow.drafts import StaleDraftError, discard_draft, publish_draft
from .views import DEFAULT_PAGE_SIZE, queue_access


def stories_with_drafts():
    """Readable stories with a pending draft, newest draft first, with who proposed it."""
    return (
        Story.objects.readable()
        .filter(draft_revision__isnull=False)
        .select_related("provider", "draft_revision", "draft_revision__author", "draft_revision__import_run")
        .order_by("-draft_revision_id")
    )


@require_GET
@queue_access
def live_drafts(request: HttpRequest) -> HttpResponse:
    page = Paginator(stories_with_drafts(), DEFAULT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "moderation/live_drafts.html",
        {
            "page": page,
            "rows": [(story, compare_url(story.pk)) for story in page.object_list],
            "can_moderate": may_moderate(request.user),
            "this_page": request.get_full_path(),
        },
    )


def _back() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("moderation:live_drafts"))


def _expected(request: HttpRequest) -> int | None:
    version = request.POST.get("version", "")
    return int(version) if version.isdigit() else None


@require_POST
@queue_access
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    if not may_moderate(request.user):
        raise PermissionDenied("Only a moderator may publish a draft.")
    story = get_object_or_404(Story, pk=pk)
    try:
        publish_draft(
            story,
            actor=request.user,
            expected_version=_expected(request),
            confirm_stale="confirm_stale" in request.POST,
        )
    except StaleDraftError as error:
        messages.warning(request, str(error))
    except (WorkflowError, PermissionDenied) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"“{plain_text(story.title)}”: the draft is published; readers see it now.")
    return _back()


@require_POST
@queue_access
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    if not may_moderate(request.user):
        raise PermissionDenied("Only a moderator may discard a draft.")
    story = get_object_or_404(Story, pk=pk)
    try:
        discard_draft(story, actor=request.user, expected_version=_expected(request))
    except (WorkflowError, PermissionDenied) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"“{plain_text(story.title)}”: the draft was discarded.")
    return _back()
