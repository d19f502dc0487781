"""The stories app's models: stories and their parts (``story``), import runs (``runs``), the
audit trail (``audit``) and revisions (``revisions``)."""

from __future__ import annotations

from .audit import AuditEntry
from .revisions import Revision
from .runs import ImportOutcome, ImportRun, ImportRunStory
from .story import (
    EARLIEST_READABLE,
    IMAGE_FILE_COLUMNS,
    LATEST_READABLE,
    RELATED_FILE_COLUMNS,
    STORY_DATE_FIELDS,
    STORY_FILE_COLUMNS,
    Image,
    RelatedLink,
    State,
    Story,
    StoryQuerySet,
    StoryTopic,
    Topic,
    lead_images_prefetch,
    live_condition,
    readable_dates,
    story_types,
)

__all__ = [
    "EARLIEST_READABLE",
    "IMAGE_FILE_COLUMNS",
    "LATEST_READABLE",
    "RELATED_FILE_COLUMNS",
    "STORY_DATE_FIELDS",
    "STORY_FILE_COLUMNS",
    "AuditEntry",
    "Image",
    "ImportOutcome",
    "ImportRun",
    "ImportRunStory",
    "RelatedLink",
    "Revision",
    "State",
    "Story",
    "StoryQuerySet",
    "StoryTopic",
    "Topic",
    "lead_images_prefetch",
    "live_condition",
    "readable_dates",
    "story_types",
]
