"""The stories app's models: stories and their parts (``story``), the orders readers list them in
and their indexes (``orders``), import runs (``runs``), the audit trail (``audit``), revisions
(``revisions``) and the reader version (``reader``)."""

from __future__ import annotations

from .audit import AuditEntry
from .reader import ReaderVersion
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
    "ReaderVersion",
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
