"""The liveness check answers without touching the database or the cache."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_a_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


def test_healthz_is_never_cached_on_the_way(client):
    response = client.get(reverse("healthz"))

    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_healthz_refuses_a_post(client):
    assert client.post(reverse("healthz")).status_code == 405
