"""The editorial workflow: every state transition and every editorial change.

Nothing else writes ``Story.state``, the go-live/expiry window, ``quality``,
``heat``, topics, or a person's change to a story's content, related links or
images; a story file's change (an import, or undoing one) is applied here too
(``apply_plan``). Each function here

- checks the actor's permissions (``PermissionDenied``); ``actor=None`` is the
  system (the import command or the scheduler) and is always allowed
  (``permissions``);
- keeps the moderation promise: on a published story, what readers see changes
  only by the hand of someone with ``stories.publish_story``; anyone else gets a
  ``ModeratorOnlyError`` that says so, and nothing is written
  (``permissions.held_for_moderator``, the same rule for the importer, which keeps
  the story's values and reports the file's as a conflict). A person's change
  through ``drafts.edit`` is kept as a draft revision instead, for a moderator to
  publish or discard (``drafts``, imported from its module);
- refuses invalid moves with a ``WorkflowError`` that says why (``transitions``:
  ``TRANSITIONS`` is the state machine's one statement);
- writes the row once, under optimistic locking (``versioned.write_versioned``):
  of two concurrent writers only one wins, the other gets ``StaleStoryError``;
- records an ``AuditEntry`` per changed field (who, when, before, after, why),
  naming the person, also when the change came from a file they imported;
- adds the field to ``Story.editor_touched`` when a person made the change, so
  a re-import knows an editor decided. A value a person imported from a story
  file is the file's, not an editorial decision.

Modules: ``transitions`` (the state machine), ``permissions`` (who may, the moderation
promise), ``versioned`` (the one write), ``editorial`` (values, topics, rows, the lead
image), ``plans`` (a story file's change), ``schedule`` (the window and the scheduler),
``merges`` (duplicate topics and providers), ``bulk`` (one change to many stories).
"""

from __future__ import annotations

from .bulk import BulkResult, apply_each
from .editorial import RowChanges, current_topics, replace_lead_image, update_editorial
from .errors import ModeratorOnlyError, WorkflowError
from .merges import merge_providers, merge_topics
from .permissions import (
    CONTENT_FIELDS,
    EDITORIAL_FIELDS,
    READER_FIELDS,
    held_for_moderator,
    is_person,
    may_moderate,
    moderator_only_message,
    topic_held_for_moderator,
)
from .plans import Held, Plan, SourceWriter, apply_plan
from .schedule import ScheduleReport, apply_schedule, due_to_expire, due_to_go_live, schedule
from .transitions import (
    IMPORT_STATE_COMMENT,
    PUBLISH,
    REJECT,
    REQUEST_CHANGES,
    SUBMIT,
    TRANSITIONS,
    UNPUBLISH,
    UNSET,
    Transition,
    action_between,
    available_transitions,
    import_action,
    may,
    transition,
)
from .versioned import StaleStoryError, stale_message, write_versioned

__all__ = [
    "CONTENT_FIELDS",
    "EDITORIAL_FIELDS",
    "IMPORT_STATE_COMMENT",
    "PUBLISH",
    "READER_FIELDS",
    "REJECT",
    "REQUEST_CHANGES",
    "SUBMIT",
    "TRANSITIONS",
    "UNPUBLISH",
    "UNSET",
    "BulkResult",
    "Held",
    "ModeratorOnlyError",
    "Plan",
    "RowChanges",
    "ScheduleReport",
    "SourceWriter",
    "StaleStoryError",
    "Transition",
    "WorkflowError",
    "action_between",
    "apply_each",
    "apply_plan",
    "apply_schedule",
    "available_transitions",
    "current_topics",
    "due_to_expire",
    "due_to_go_live",
    "held_for_moderator",
    "import_action",
    "is_person",
    "may",
    "may_moderate",
    "merge_providers",
    "merge_topics",
    "moderator_only_message",
    "replace_lead_image",
    "schedule",
    "stale_message",
    "topic_held_for_moderator",
    "transition",
    "update_editorial",
    "write_versioned",
]
