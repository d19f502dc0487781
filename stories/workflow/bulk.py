"""One change applied to many stories, each in its own transaction (bulk actions, the queue)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied

from stories.models import Story

from .errors import WorkflowError


@dataclass
class BulkResult:
    """What a bulk action did: the stories changed, and why each other one was skipped."""

    done: list[Story] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    drafted: list[Story] = field(default_factory=list)  # of ``done``: kept as drafts (``workflow.drafts``)

    def summary(self, verb: str) -> tuple[str | None, str | None]:
        done = (
            f"{verb} {len(self.done)} {'story' if len(self.done) == 1 else 'stories'}." if self.done else None
        )
        skipped = f"Skipped {len(self.skipped)}: " + " ".join(self.skipped) if self.skipped else None
        return done, skipped

    def drafted_message(self) -> str | None:
        """Which of the stories changed only as a draft that a moderator reviews."""
        if not self.drafted:
            return None
        titles = ", ".join(f"“{story.title}”" for story in self.drafted)
        return f"Saved as a draft, for a moderator to review before readers see it: {titles}."


def apply_each(
    stories: Iterable[Story],
    change: Callable[[Story, int | None], object],
    *,
    versions: Mapping[int, int],
    require_version: bool = False,
) -> BulkResult:
    """Apply ``change(story, version_seen)`` to each story in its own transaction.

    A story that may not take the change, or that changed since ``versions``
    were read, is skipped and reported; the others go ahead.
    """
    result = BulkResult()
    for story in stories:
        seen = versions.get(story.pk)
        if seen is None and require_version:
            result.skipped.append(f"“{story.title}”: the page did not say which version you saw.")
            continue
        try:
            outcome = change(story, seen)
        except WorkflowError as error:  # its message names the story (ModeratorOnlyError included)
            result.skipped.append(str(error))
        except PermissionDenied as error:
            result.skipped.append(f"“{story.title}”: {error or 'not allowed'}")
        else:
            result.done.append(story)
            if getattr(outcome, "draft", None) is not None:
                result.drafted.append(story)
    return result
