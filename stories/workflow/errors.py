"""How the workflow says no."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError


class WorkflowError(ValidationError):
    """A move the workflow does not allow; the message says why."""

    def __str__(self) -> str:
        return " ".join(self.messages)


class ModeratorOnlyError(WorkflowError, PermissionDenied):
    """A change to what readers see of a published story by someone who is not a moderator.

    Both a workflow refusal with a message and a permission matter: callers that
    show either show it; an uncaught one answers 403.
    """
