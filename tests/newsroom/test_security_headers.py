"""Headers every response carries: a strict Content-Security-Policy and the browser hardening ones."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from newsroom.middleware import CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY, ContentSecurityPolicyMiddleware
from tests.conftest import make_story

pytestmark = pytest.mark.django_db


# What a strict policy blocks in a page: inline scripts, style elements and attributes,
# event handler attributes and javascript: URLs.
INLINE_CODE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)


def inline_code(html: str) -> list[str]:
    return [match.group(0) for match in INLINE_CODE.finditer(html)]


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in policy.split(";"))):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


@pytest.mark.parametrize(
    "page",
    [
        lambda: reverse("stories:home"),
        lambda: make_story().get_absolute_url(),
        lambda: reverse("stories:feed_rss"),
        lambda: reverse("admin:login"),
        lambda: reverse("moderation:queue"),  # a redirect to the login page
        lambda: "/no-such-page/",
    ],
    ids=["home", "story", "feed", "admin login", "redirect", "not found"],
)
def test_every_response_carries_the_security_headers(reader, page):
    response = reader.get(page())

    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Permissions-Policy"] == PERMISSIONS_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_policy_runs_only_our_own_scripts_and_styles_and_cannot_be_framed():
    policy = directives(CONTENT_SECURITY_POLICY)

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_our_templates_hold_no_inline_script_or_style_the_policy_would_block():
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}: {code}"
        for path in sorted((settings.BASE_DIR / "templates").rglob("*.html"))
        for code in inline_code(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_a_response_that_sets_its_own_policy_keeps_it():
    def view(request):
        response = HttpResponse("embedded")
        response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/"))

    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert response.headers["Permissions-Policy"] == PERMISSIONS_POLICY


def test_the_template_scan_sees_what_a_careless_template_would_add():
    html = '<p style="color: red" onclick="go()">x</p><script>alert(1)</script><script src="/s.js"></script>'
    assert inline_code(html) == [" style=", " onclick=", "<script>"]
