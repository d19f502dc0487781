"""What the rows a story file becomes can hold, and how much one file may carry.

The column limits mirror ``stories.models`` and ``providers.models``; a test keeps
them equal, so the format refuses exactly what the database (or Python) could not
hold and the page that shows it could not render. They are a table rather than read
from the models so that parsing needs neither Django settings nor the app registry
(worker processes, scripts).
"""

from __future__ import annotations

from dataclasses import dataclass

# IntegerField and PositiveIntegerField hold 32 bits on every database we support.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Every table's id is a BigAutoField: the largest id a request may name.
ID_MAX = 2**63 - 1

# Quality and heat are open-ended in the story files (heat -1 marks a cluster lead): only
# absurd values are refused, the same in files, the admin, the queue and spreadsheets.
SCORE_MIN, SCORE_MAX = -1_000_000, 1_000_000

# max_length of the columns each file value is stored in.
MAX_LENGTH = {
    "title": 1000,  # Story.title, RelatedLink.title
    "image_title": 1000,  # Image.title
    "category": 100,  # Story.category
    "type": 40,  # Story.type, RelatedLink.type
    "provider_name": 300,  # Provider.name, Story.provider_name, RelatedLink.provider_name
    "domain": 253,  # Provider.domain
    "topic": 200,  # Topic.name
    "url": 2000,  # every URLField
}

DEFAULT_MAX_BYTES = 1024 * 1024
# The real corpus has at most 3 topics, 71 related links (about 240 in the largest
# known file) and 1 image per list; the defaults leave ample room above that.
DEFAULT_MAX_TOPICS = 50
DEFAULT_MAX_RELATED = 500
DEFAULT_MAX_IMAGES = 10


@dataclass(frozen=True)
class FileLimits:
    """How much one story file may carry; each is refused with a reason naming the field."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_topics: int = DEFAULT_MAX_TOPICS
    max_related: int = DEFAULT_MAX_RELATED
    max_images: int = DEFAULT_MAX_IMAGES  # per images list: a story's, a related link's, a provider's

    @classmethod
    def from_settings(cls) -> FileLimits:
        """The ``NEWSROOM_MAX_*`` settings, or the defaults when Django is not configured."""
        try:
            from django.conf import settings

            return cls(
                max_bytes=int(getattr(settings, "NEWSROOM_MAX_STORY_FILE_BYTES", DEFAULT_MAX_BYTES)),
                max_topics=int(getattr(settings, "NEWSROOM_MAX_TOPICS_PER_STORY", DEFAULT_MAX_TOPICS)),
                max_related=int(getattr(settings, "NEWSROOM_MAX_RELATED_PER_STORY", DEFAULT_MAX_RELATED)),
                max_images=int(getattr(settings, "NEWSROOM_MAX_IMAGES_PER_LIST", DEFAULT_MAX_IMAGES)),
            )
        except Exception:  # noqa: BLE001 - settings not configured (plain scripts)
            return cls()
