"""Stories with revisions, made through the workflow and ``record_revision``."""

from __future__ import annotations

import pytest

from stories import workflow
from stories.models import State, Story
from stories.records import stories_with_rows
from stories.snapshots import snapshot_of
from stories.workflow.revisions import record_revision
from tests.conftest import make_story


def snapshot(story: Story) -> dict:
    return snapshot_of(stories_with_rows().get(pk=story.pk))


def edit_title(story: Story, title: str, *, actor) -> None:
    story = Story.objects.get(pk=story.pk)
    workflow.update_editorial(story, actor=actor, content={"title": title}, comment="Title corrected")


def with_related_reordered(data: dict) -> dict:
    """``data`` with its first related link moved to the end."""
    record = dict(data["record"])
    related = list(record["related"])
    record["related"] = related[1:] + related[:1]
    return data | {"record": record}


@pytest.fixture
def revised_story(editor):
    """A story in review with two revisions: as imported, then its title corrected by the editor."""
    story = make_story(title="Old title", state=State.IN_REVIEW, related=3)
    record_revision(story, actor=None, reason="Imported")
    edit_title(story, "New title", actor=editor)
    return Story.objects.get(pk=story.pk)
