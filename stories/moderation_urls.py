"""The moderation queue, mounted at /moderation/."""

from __future__ import annotations

from django.urls import path

from . import moderation

app_name = "moderation"

urlpatterns = [
    path("", moderation.queue, name="queue"),
    path("bulk/", moderation.bulk, name="bulk"),
    path("<int:pk>/transition/", moderation.transition, name="transition"),
    path("<int:pk>/editorial/", moderation.editorial, name="editorial"),
]
