"""Form pieces the admin and the moderation queue share.

Every form that leads to a write carries the story version it was rendered with, so
a stale submission is refused instead of applied blindly: a listed story's version
travels in its own hidden input (``version_field_name``), and a bulk action reads
them back with ``posted_versions``.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from .storyfile import SCORE_MAX, SCORE_MIN


def version_field_name(pk) -> str:
    """Name of the hidden input that carries a listed story's version (changelist, queue, bulk pages)."""
    return f"version-{pk}"


def posted_versions(data: Mapping, pks) -> dict[int, int]:
    """The versions the page showed for ``pks``, as posted; missing or malformed ones are left out."""
    versions: dict[int, int] = {}
    for pk in pks:
        raw = data.get(version_field_name(pk))
        try:
            versions[int(pk)] = int(raw)
        except (TypeError, ValueError):
            continue
    return versions


def score_field() -> forms.IntegerField:
    """Quality or heat on a bulk page or a queue row: the range a story file may give."""
    return forms.IntegerField(required=False, min_value=SCORE_MIN, max_value=SCORE_MAX)


def reason_for(data: Mapping, pk, default: str = "") -> str:
    """A listed story's own reason, posted as ``reason-<pk>``, or else the ``default`` for every story."""
    return (data.get(f"reason-{pk}") or "").strip() or (default or "").strip()
