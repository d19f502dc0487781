"""Bulk actions on the story list: publish, unpublish, submit, reject with reasons, topics, quality and heat.

Each story is changed through the workflow with the version its row showed; one that
cannot take the change (moved on, changed meanwhile, not allowed) is skipped and named,
and the others are still changed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from .. import workflow
from ..forms import posted_versions, reason_for
from ..models import Story
from ..workflow import drafts
from .forms import QualityHeatForm, RejectForm, TopicsForm

Change = Callable[[Story, int | None], object]

BULK_FORM_TEMPLATE = "admin/stories/story/bulk_form.html"


class StoryBulkActionsMixin:
    """For the Story admin: the actions named in ``actions``, and the permissions they need."""

    actions = (
        "publish_selected",
        "unpublish_selected",
        "submit_selected",
        "reject_selected",
        "attach_topics",
        "detach_topics",
        "set_quality_heat",
    )

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("stories.publish_story")

    def has_submit_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("stories.submit_story")

    def _apply(self, request: HttpRequest, queryset: QuerySet[Story], verb: str, change: Change) -> None:
        """Apply ``change`` to each selected story, skipping (and reporting) the ones that cannot take it."""
        stories = list(queryset.order_by("pk"))
        versions = posted_versions(request.POST, [s.pk for s in stories])
        result = workflow.apply_each(stories, change, versions=versions)
        done, skipped = result.summary(verb)
        if done:
            self.message_user(request, done)
        if result.drafted:
            self.message_user(request, result.drafted_message(), messages.INFO)
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

    def _asking_first(
        self, request, queryset, *, form_class, verb: str, change: Callable[[dict], Change], **page
    ):
        """An action that asks for something first: its page, then, once applied, ``change(answer)``
        to each selected story."""
        applying = "apply" in request.POST
        form = form_class(request.POST if applying else None)
        if applying and form.is_valid():
            self._apply(request, queryset, verb, change(form.cleaned_data))
            return None
        return self._intermediate(request, queryset, form=form, **page)

    def _intermediate(self, request, queryset, *, action: str, title: str, form, template: str):
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
            },
        )

    @admin.action(description="Reject selected stories with a reason…", permissions=["publish"])
    def reject_selected(self, request, queryset):
        def reject(answer: dict) -> Change:
            return lambda story, version: workflow.transition(
                story,
                action=workflow.REJECT,
                actor=request.user,
                comment=reason_for(request.POST, story.pk, answer["reason"]),
                expected_version=version,
            )

        return self._asking_first(
            request,
            queryset,
            form_class=RejectForm,
            verb="Rejected",
            change=reject,
            action="reject_selected",
            title="Reject stories",
            template="admin/stories/story/reject_selected.html",
        )

    def _topics_action(self, request, queryset, *, action: str, attach: bool):
        key = "add_topics" if attach else "remove_topics"

        def edit(answer: dict) -> Change:
            topics = list(answer["topics"])
            return lambda story, version: drafts.edit(
                story, actor=request.user, expected_version=version, **{key: topics}
            )

        return self._asking_first(
            request,
            queryset,
            form_class=TopicsForm,
            verb="Attached topics to" if attach else "Detached topics from",
            change=edit,
            action=action,
            title="Attach topics to stories" if attach else "Detach topics from stories",
            template=BULK_FORM_TEMPLATE,
        )

    @admin.action(description="Attach topics to selected stories…", permissions=["change"])
    def attach_topics(self, request, queryset):
        return self._topics_action(request, queryset, action="attach_topics", attach=True)

    @admin.action(description="Detach topics from selected stories…", permissions=["change"])
    def detach_topics(self, request, queryset):
        return self._topics_action(request, queryset, action="detach_topics", attach=False)

    @admin.action(description="Set quality/heat of selected stories…", permissions=["change"])
    def set_quality_heat(self, request, queryset):
        def edit(answer: dict) -> Change:
            values = {k: v for k, v in answer.items() if v is not None}
            return lambda story, version: drafts.edit(
                story, actor=request.user, expected_version=version, **values
            )

        return self._asking_first(
            request,
            queryset,
            form_class=QualityHeatForm,
            verb="Updated",
            change=edit,
            action="set_quality_heat",
            title="Set quality and heat",
            template=BULK_FORM_TEMPLATE,
        )
