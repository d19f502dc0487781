"""The moderation queue, mounted at /moderation/."""

from __future__ import annotations

from django.urls import path

from . import drafts, views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("suggest/providers/", views.suggest_providers, name="suggest_providers"),
    path("suggest/topics/", views.suggest_topics, name="suggest_topics"),
    path("<int:pk>/transition/", views.transition, name="transition"),
    path("<int:pk>/editorial/", views.editorial, name="editorial"),
    path("live-drafts/", drafts.live_drafts, name="live_drafts"),
    path("<int:pk>/draft/publish/", drafts.publish, name="publish_draft"),
    path("<int:pk>/draft/discard/", drafts.discard, name="discard_draft"),
]
