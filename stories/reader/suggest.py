"""The reader filter form's suggestions: providers and topics of live stories, by prefix, as JSON.

``newsroom/suggest.js`` asks these as a reader types into the provider or topic box of
the filter form; without JavaScript the box takes a name or domain as typed. Only what
readers may already see is ever suggested (``live_providers``, ``live_topics``).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ..filters import name_label, provider_label, suggestions
from .filters import live_providers, live_topics


@require_GET
def providers(request: HttpRequest) -> JsonResponse:
    return suggestions(
        request,
        live_providers(request),
        fields=("name", "domain"),
        value=lambda provider: provider.domain,
        label=provider_label,
    )


@require_GET
def topics(request: HttpRequest) -> JsonResponse:
    return suggestions(
        request, live_topics(request), fields=("name",), value=lambda topic: topic.name, label=name_label
    )
