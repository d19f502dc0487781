"""The moderation queue: stories in review (or drafts), and the actions a moderator takes on them.

Staff only (others are sent to the login page), and only staff the story
admin lets view stories (others get 403). Every POST also checks the
permission it needs and answers 403 without it; every write goes through
``stories.workflow`` with the version the page was rendered with, so an action
on a story that changed meanwhile is refused, never applied blindly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from providers.models import Provider

from .. import workflow
from ..counts import CappedPaginator, related_count
from ..filters import name_label, provider_label, suggestions
from ..forms import posted_versions, reason_for
from ..models import RelatedLink, State, Story, Topic
from ..revisions.links import revision_count
from ..storyfile import QUEUE_TOPIC_SEPARATOR
from ..templatetags.images import safe_renditions
from ..templatetags.reader import http_url, plain_text
from ..workflow import TRANSITIONS, Transition, WorkflowError
from ..workflow.drafts import edit
from .filters import ModerationFilter
from .forms import BulkQueueForm, QueueEditorialForm, QueueTransitionForm

logger = logging.getLogger(__name__)

PAGE_SIZES = (10, 25, 50, 100)
UNREADABLE_SHOWN = 20
DEFAULT_PAGE_SIZE = 25
QUEUE_STATES = (State.IN_REVIEW, State.DRAFT)


@dataclass
class Row:
    story: Story
    thumbnail: str | None
    transitions: list[Transition]

    @property
    def link(self) -> str | None:
        return http_url(self.story.link_url) or None

    @property
    def topic_names(self) -> str:
        return f"{QUEUE_TOPIC_SEPARATOR} ".join(self.story.topic_names())


def _thumbnail(story: Story) -> str | None:
    """Our cached copy of the lead image; its http(s) URL only when NEWSROOM_IMAGE_FALLBACK allows remote."""
    image = story.lead_image
    if image is None:
        return None
    local = safe_renditions(image)
    if local:
        return local[0].fallback_url
    if settings.NEWSROOM_IMAGE_FALLBACK == "remote" and http_url(image.url):
        return image.url
    return None


def queue_queryset():
    # The counts are subqueries, computed for the rows a page shows (never a GROUP BY of the queue).
    return (
        Story.objects.readable()
        .filter(state__in=QUEUE_STATES)
        .with_cards()
        .annotate(related_count=related_count(RelatedLink, "story"), revision_count=revision_count())
    )


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("per_page", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def queue_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff whom the story admin lets view stories (view or change permission), nobody else."""

    @staff_member_required
    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not admin.site.get_model_admin(Story).has_view_or_change_permission(request):
            raise PermissionDenied("You may not view stories.")
        return view(request, *args, **kwargs)

    return guarded


@require_GET
@queue_access
def queue(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if data.get("state") not in QUEUE_STATES:
        data["state"] = State.IN_REVIEW
    data.setdefault("sort", "newest")
    filterset = ModerationFilter(data, queryset=queue_queryset())
    # A filter that cannot be understood shows its error and no stories, never a wider list.
    stories = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    # Counted up to stories.counts.COUNT_CAP: an import can put a hundred thousand in review.
    page = CappedPaginator(stories, _page_size(request)).get_page(request.GET.get("page"))
    user = request.user
    rows = [
        Row(
            story=story,
            thumbnail=_thumbnail(story),
            transitions=workflow.available_transitions(story, user),
        )
        for story in page.object_list
    ]
    query = data.copy()
    query.pop("page", None)
    # Only the moves that make sense for the state shown (in review or drafts).
    shown = data["state"]
    bulk_actions = [t for t in TRANSITIONS.values() if shown in t.sources and workflow.may(user, t.action)]
    unreadable = list(
        Story.objects.filter(state=shown)
        .unreadable()
        .order_by("pk")
        .values_list("pk", flat=True)[:UNREADABLE_SHOWN]
    )
    for story_id in unreadable:
        logger.error("story %s left out of the moderation queue: a date is outside years 1-9999", story_id)
    return render(
        request,
        "moderation/queue.html",
        {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "state": data["state"],
            "query_string": query.urlencode(),
            "this_page": request.get_full_path(),
            "can_edit": workflow.may(user, "edit"),
            "bulk_actions": bulk_actions,
            "page_sizes": PAGE_SIZES,
            "per_page": page.paginator.per_page,
            "unreadable": unreadable,
        },
    )


@require_GET
@queue_access
def suggest_providers(request: HttpRequest) -> JsonResponse:
    """Providers whose name or domain starts with ``?q=``, for the queue's provider box."""
    return suggestions(
        request,
        Provider.objects.all(),
        fields=("name", "domain"),
        value=lambda provider: provider.domain,
        label=provider_label,
    )


@require_GET
@queue_access
def suggest_topics(request: HttpRequest) -> JsonResponse:
    """Topics whose name starts with ``?q=``, for the topic filter and each story's topics box."""
    return suggestions(
        request, Topic.objects.all(), fields=("name",), value=lambda topic: topic.name, label=name_label
    )


def _back(request: HttpRequest) -> HttpResponseRedirect:
    """Back to the queue page the form was on, filters and page kept; never off-site."""
    target = request.POST.get("next", "")
    queue_url = reverse("moderation:queue")
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    if not (allowed and target.startswith(queue_url)):
        target = queue_url
    return HttpResponseRedirect(target)


def _require(request: HttpRequest, action: str) -> None:
    if not workflow.may(request.user, action):
        raise PermissionDenied("You may not do that.")


def _queue_story(pk: int) -> Story:
    return get_object_or_404(Story.objects.with_cards(), pk=pk)


def _posted_action(request: HttpRequest, form) -> str | None:
    """The transition a valid form asks for, once the person may make it; None when the form is not
    valid (its errors are said)."""
    if not form.is_valid():
        messages.error(request, "Nothing was changed: " + form.errors.as_text())
        return None
    action = form.cleaned_data["action"]
    _require(request, action)
    return action


@require_POST
@queue_access
def transition(request: HttpRequest, pk: int) -> HttpResponse:
    form = QueueTransitionForm(request.POST)
    action = _posted_action(request, form)
    if action is None:
        return _back(request)
    story = _queue_story(pk)
    try:
        workflow.transition(
            story,
            action=action,
            actor=request.user,
            comment=form.cleaned_data["comment"],
            expected_version=form.cleaned_data["version"],
        )
    except WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"“{plain_text(story.title)}”: {TRANSITIONS[action].label.lower()} done.")
    return _back(request)


@require_POST
@queue_access
def editorial(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "edit")
    story = _queue_story(pk)
    form = QueueEditorialForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"“{plain_text(story.title)}” was not changed: " + form.errors.as_text())
        return _back(request)
    values = dict(form.cleaned_data)  # quality, heat and topics
    expected = values.pop("version")
    try:
        done = edit(story, actor=request.user, expected_version=expected, **values)
    except WorkflowError as error:
        messages.error(request, str(error))
    else:
        (messages.success if done.changed else messages.info)(request, done.message(plain_text(story.title)))
    return _back(request)


@require_POST
@queue_access
def bulk(request: HttpRequest) -> HttpResponse:
    form = BulkQueueForm(request.POST)
    action = _posted_action(request, form)
    if action is None:
        return _back(request)
    ids = form.cleaned_data["ids"]
    stories = Story.objects.filter(pk__in=ids).order_by("pk")
    missing = len(set(ids)) - len(stories)
    result = workflow.apply_each(
        stories,
        lambda story, seen: workflow.transition(
            story,
            action=action,
            actor=request.user,
            comment=reason_for(request.POST, story.pk, form.cleaned_data["reason"]),
            expected_version=seen,
        ),
        versions=posted_versions(request.POST, ids),
        require_version=True,
    )
    if missing:
        result.skipped.append(f"{missing} selected stories no longer exist.")
    done, skipped = result.summary(TRANSITIONS[action].label + ":")
    if done:
        messages.success(request, done)
    if skipped:
        messages.warning(request, skipped)
    return _back(request)
