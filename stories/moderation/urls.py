"""The moderation queue, mounted at /moderation/."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("<int:pk>/transition/", views.transition, name="transition"),
    path("<int:pk>/editorial/", views.editorial, name="editorial"),
]
