"""The liveness check: the smallest page Django serves, for whatever watches the server."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 "ok" while the process answers requests.

    It touches neither the database nor the cache: it says the server is alive, not that
    its services are. The web benchmark (``bench/web.py``) measures every page against it.
    """
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
