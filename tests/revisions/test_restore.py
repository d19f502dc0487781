"""Restoring an older revision: a new revision, through the workflow and its permissions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from stories import workflow
from stories.models import AuditEntry, Revision, State, Story
from stories.revisions.restore import restore_revision
from stories.workflow import StaleStoryError
from stories.workflow.revisions import record_revision
from tests.conftest import make_story

from .conftest import edit_title, snapshot, with_related_reordered


def oldest(story: Story) -> Revision:
    return story.revisions.order_by("id").first()


def test_restoring_puts_the_story_back_as_the_revision_holds_it(revised_story, editor):
    first = oldest(revised_story)
    restore_revision(first, actor=editor)
    story = Story.objects.get(pk=revised_story.pk)
    assert story.title == "Old title"
    assert snapshot(story) == first.data


def test_restoring_makes_a_new_revision_and_rewrites_none(revised_story, editor):
    first, second = revised_story.revisions.order_by("id")
    newest, changes = restore_revision(first, actor=editor)
    assert changes.change_of("title").after == "Old title"
    assert revised_story.revisions.count() == 3
    assert newest.reason == f"Revision #{first.pk} restored"
    assert newest.author == editor and newest.based_on == second and not newest.is_draft
    assert newest.data == first.data
    assert Revision.objects.get(pk=second.pk).data["record"]["title"] == "New title"


def test_restoring_is_audited_with_the_revision_it_restored(revised_story, editor):
    first = oldest(revised_story)
    restore_revision(first, actor=editor)
    entry = AuditEntry.objects.filter(story=revised_story, field="revision").get()
    assert entry.actor == editor and entry.comment == f"Revision #{first.pk} restored"


def test_restoring_a_related_link_order_puts_the_links_back(editor):
    story = make_story(state=State.IN_REVIEW, related=3)
    first = record_revision(story, actor=None, reason="Imported")
    original = [link.web_url for link in story.related_links.order_by("position")]
    reordered = record_revision(story, actor=editor, data=with_related_reordered(first.data))
    restore_revision(reordered, actor=editor)
    assert [link.web_url for link in story.related_links.order_by("position")] == original[1:] + original[:1]
    restore_revision(first, actor=editor)
    assert [link.web_url for link in story.related_links.order_by("position")] == original


def test_restoring_what_the_story_already_is_writes_nothing(revised_story, editor):
    latest = revised_story.revisions.order_by("-id").first()
    version = Story.objects.get(pk=revised_story.pk).version
    newest, changes = restore_revision(latest, actor=editor)
    assert not changes.changed and newest == latest
    assert Story.objects.get(pk=revised_story.pk).version == version


def test_a_person_without_change_permission_may_not_restore(revised_story, staff_without_roles):
    with pytest.raises(PermissionDenied):
        restore_revision(oldest(revised_story), actor=staff_without_roles)
    assert Story.objects.get(pk=revised_story.pk).title == "New title"


def test_an_editors_restore_of_a_published_story_waits_as_a_draft(editor, moderator):
    story = make_story(title="Live title", state=State.PUBLISHED)
    first = record_revision(story, actor=None, reason="Imported")
    edit_title(story, "Corrected", actor=moderator)
    newest, _ = restore_revision(first, actor=editor)
    story = Story.objects.get(pk=story.pk)
    assert story.title == "Corrected"  # readers still see the live story
    assert newest.is_draft and story.draft_revision_id == newest.pk
    assert newest.author == editor and newest.reason == f"Revision #{first.pk} restored"
    assert newest.data["record"]["title"] == "Live title"


def test_a_moderator_may_restore_a_published_story(moderator):
    story = make_story(title="Live title", state=State.PUBLISHED)
    first = record_revision(story, actor=None, reason="Imported")
    edit_title(story, "Corrected", actor=moderator)
    restore_revision(first, actor=moderator)
    assert Story.objects.get(pk=story.pk).title == "Live title"


def test_restoring_an_earlier_state_needs_a_moderator(editor, moderator):
    story = make_story(state=State.IN_REVIEW)
    first = record_revision(story, actor=None, reason="Imported")
    workflow.transition(story, action=workflow.PUBLISH, actor=moderator)
    record_revision(story, actor=moderator, reason="Published")
    with pytest.raises(PermissionDenied):
        restore_revision(first, actor=editor)
    restore_revision(first, actor=moderator)
    assert Story.objects.get(pk=story.pk).state == State.IN_REVIEW


def test_a_restore_from_a_page_of_an_older_version_is_refused(revised_story, editor):
    seen = Story.objects.get(pk=revised_story.pk).version
    edit_title(revised_story, "Newer still", actor=editor)
    with pytest.raises(StaleStoryError):
        restore_revision(oldest(revised_story), actor=editor, expected_version=seen)
    assert Story.objects.get(pk=revised_story.pk).title == "Newer still"
