"""Response headers that every page carries, and requests refused before any view sees them."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse

# Fixed in code, not a setting: the policy is a promise about our own templates (no inline
# script or style anywhere, YouTube embeds the only third-party frames we ever render), so it
# changes with them, in the same commit.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; "
    "img-src 'self' https: data:; "
    "style-src 'self'; "
    "script-src 'self'; "
    "frame-src https://www.youtube-nocookie.com https://www.youtube.com; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"


class ContentSecurityPolicyMiddleware:
    """Every response carries our Content-Security-Policy and Permissions-Policy.

    Django 5.2 has no CSP support of its own. A view that sets either header itself keeps its own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class RejectNulCharactersMiddleware:
    """A NUL character in the path, the query string or a cookie is a bad request, before any
    view sees it.

    No URL or cookie of ours has a use for one, and PostgreSQL refuses it in any text it
    is handed, so a lookup, a search, an admin filter or a session given one would fail
    with a server error. Forms refuse it in posted fields by themselves.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            raise BadRequest("The address contains a NUL character.")
        if any("\x00" in key or "\x00" in value for key, value in request.COOKIES.items()):
            raise BadRequest("A cookie contains a NUL character.")
        return self.get_response(request)
