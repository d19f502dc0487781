"""A URL a person types without a scheme is taken as https://, in every form built from the models."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.forms import modelform_factory
from django.urls import reverse

from providers.models import Provider
from stories.models import State
from tests.admin.test_story import change_form_post, change_url
from tests.conftest import make_provider, make_story
from tests.test_unstorable_values import provider_post


@pytest.mark.django_db
def test_the_story_admin_saves_a_web_address_typed_without_a_scheme_as_https(editor_client):
    story = make_story(state=State.IN_REVIEW)

    response = editor_client.post(
        change_url(story), change_form_post(story, version=1, original_url="news.example/rocket")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    story.refresh_from_db()
    assert story.original_url == "https://news.example/rocket"


@pytest.mark.django_db
def test_the_provider_admin_saves_a_logo_typed_without_a_scheme_as_https(admin_client):
    provider = make_provider(name="Orbit", domain="orbit.example")

    response = admin_client.post(
        reverse("admin:providers_provider_change", args=[provider.pk]),
        provider_post(provider, logo_url="orbit.example/logo.png"),
    )

    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.logo_url == "https://orbit.example/logo.png"


@pytest.mark.django_db
def test_any_model_form_takes_the_rule_from_the_field():
    form = modelform_factory(Provider, fields=["name", "domain", "logo_url"])(
        data={"name": "Orbit", "domain": "orbit.example", "logo_url": "//orbit.example/logo.png"}
    )

    assert form.fields["logo_url"].assume_scheme == "https"
    assert form.is_valid(), form.errors
    assert form.cleaned_data["logo_url"] == "https://orbit.example/logo.png"


@pytest.mark.django_db
def test_the_field_needs_no_migration():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
