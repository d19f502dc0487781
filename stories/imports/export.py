"""Stories back out as story files: the same bytes that came in, editorial fields as they are now.

A story's latest revision is exported: its pending draft when one waits for a moderator
(``Story.draft_revision``), else its rows. ``live=True`` exports the rows (what readers see).
"""

from __future__ import annotations

from django.utils.text import slugify

from stories.models import Revision, Story
from stories.records import record_from_story, stories_with_rows, with_editorial
from stories.storyfile import dump_story, record_from_json

from .rows import file_published


def stories_for_export():
    """Stories with everything ``export_story`` reads, in a fixed number of queries."""
    return stories_with_rows().select_related("draft_revision")


def draft_text(draft: Revision) -> str:
    """The story file's text for a story as its (draft) revision keeps it."""
    data = draft.data
    record = record_from_json(data["record"])
    return dump_story(
        with_editorial(
            record,
            state=data["state"],
            quality=data["quality"],
            heat=data["heat"],
            topics=data["topics"],
            file_published=file_published(record),
        )
    )


def export_story(story: Story, *, live: bool = False) -> str:
    """The story file's text for ``story`` (one from ``stories_for_export()``): its pending draft
    if it has one, unless ``live``; else the rows."""
    if not live and story.draft_revision_id is not None:
        return draft_text(story.draft_revision)
    return dump_story(record_from_story(story))


def export_filename(story: Story) -> str:
    """``<YYYY-MM-DD>-<slug of title>-<first 8 of identity>.md``: stable, and unique per story."""
    day = story.published_at.date().isoformat() if story.published_at else "undated"
    slug = slugify(story.title)[:80].strip("-") or "story"
    return f"{day}-{slug}-{story.identity_key[:8]}.md"
