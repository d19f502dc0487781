"""Merging duplicates (topics, providers) from an admin list: pick the one that stays, then merge.

The merge itself is the workflow's (``workflow.merge_topics``, ``workflow.merge_providers``):
it moves the stories, audits each one and deletes the duplicates.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from ..workflow import WorkflowError


def merge_action(model_admin, request, queryset, *, merge, noun: str, action: str):
    """Pick the survivor among two or more duplicates, then merge through the service."""
    items = list(queryset)
    if len(items) < 2:
        model_admin.message_user(request, f"Select two or more duplicate {noun}s to merge.", messages.WARNING)
        return None
    survivor_pk = request.POST.get("survivor")
    if "apply" in request.POST and survivor_pk:
        survivor = next((item for item in items if str(item.pk) == survivor_pk), None)
        if survivor is None:
            model_admin.message_user(
                request, f"Choose the {noun} that stays among the selected ones.", messages.ERROR
            )
            return None
        try:
            moved = merge(
                survivor=survivor, duplicates=[i for i in items if i.pk != survivor.pk], actor=request.user
            )
        except WorkflowError as error:
            model_admin.message_user(request, str(error), messages.ERROR)
            return None
        model_admin.message_user(
            request,
            f"Merged {len(items) - 1} {noun}(s) into “{survivor}”; {moved} stories moved.",
            messages.SUCCESS,
        )
        return None
    return TemplateResponse(
        request,
        "admin/merge_selected.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": f"Merge {noun}s",
            "items": items,
            "action": action,
            "noun": noun,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )
