"""Optimistic locking: the one way a story row is written.

Every write is a conditional ``UPDATE ... WHERE version = <expected>`` that bumps
``version``, so of two concurrent writers only one can win; the other gets
``StaleStoryError`` with ``stale_message()`` and nothing of it is written.

A write to a story that is or becomes published is one readers can see (its row, or the
topics, related links and images written with it): the reader version moves once the
transaction commits (``stories.reader.version``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F
from django.utils import timezone

from stories.models import State, Story
from stories.reader import version as reader_version

from .errors import WorkflowError


class StaleStoryError(WorkflowError):
    """The story changed since the caller read it; nothing was written."""


def stale_message(story: Story, *, seen: int | None, current: int | None) -> str:
    """The one message for a stale write (a form, a bulk action, an import, an undo)."""
    now = f"now version {current}" if current is not None else "it has since been deleted"
    had = f"you had version {seen}" if seen is not None else "the page did not say which version you had"
    return (
        f"“{story.title}” was changed by someone else since you opened it ({now}, {had}). "
        "Your changes were not saved; reload the page to see the newer data."
    )


def stale_error(story: Story, seen: int) -> StaleStoryError:
    """The error for a write from version ``seen`` of ``story`` that someone else changed since."""
    current = Story.objects.filter(pk=story.pk).values_list("version", flat=True).first()
    return StaleStoryError(stale_message(story, seen=seen, current=current))


def check_version(story: Story, expected_version: int | None) -> int:
    """The version to write against: the one the caller saw (``expected_version``), or the one
    ``story`` was read at. A caller that saw another version than ``story`` holds is stale."""
    if expected_version is not None and int(expected_version) != story.version:
        raise StaleStoryError(stale_message(story, seen=int(expected_version), current=story.version))
    return story.version


def write_versioned(story: Story, *, expected: int, changes: Mapping[str, Any]) -> None:
    """Write ``changes`` to ``story`` and bump its version, if it is still at ``expected``.

    ``story`` takes the new values. Raises ``StaleStoryError`` when someone else wrote first.
    """
    now = timezone.now()
    updated = Story.objects.filter(pk=story.pk, version=expected).update(
        version=F("version") + 1, updated_at=now, **changes
    )
    if updated != 1:
        raise stale_error(story, expected)
    if State.PUBLISHED in (story.state, changes.get("state")):
        reader_version.changed()
    for name, value in changes.items():
        setattr(story, name, value)
    story.version = expected + 1
    story.updated_at = now
