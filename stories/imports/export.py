"""Stories back out as story files: the same bytes that came in, editorial fields as they are now."""

from __future__ import annotations

from django.utils.text import slugify

from stories.models import Story
from stories.records import record_from_story, stories_with_rows
from stories.storyfile import dump_story


def stories_for_export():
    """Stories with everything ``export_story`` reads, in a fixed number of queries."""
    return stories_with_rows()


def export_story(story: Story) -> str:
    """The story file's text for ``story`` (one from ``stories_for_export()``)."""
    return dump_story(record_from_story(story))


def export_filename(story: Story) -> str:
    """``<YYYY-MM-DD>-<slug of title>-<first 8 of identity>.md``: stable, and unique per story."""
    day = story.published_at.date().isoformat() if story.published_at else "undated"
    slug = slugify(story.title)[:80].strip("-") or "story"
    return f"{day}-{slug}-{story.identity_key[:8]}.md"
