"""A change to a live story by someone who may not publish waits as a draft revision; a moderator
publishes or discards it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from stories.models import AuditEntry, Revision, State, Story
from stories.workflow import update_editorial
from stories.workflow.drafts import (
    BASELINE_REASON,
    StaleDraftError,
    discard_draft,
    edit,
    publish_draft,
)
from stories.workflow.revisions import live_revision
from tests.conftest import make_story, make_topic

pytestmark = pytest.mark.django_db


def test_an_editors_title_change_to_a_live_story_becomes_a_draft_and_readers_keep_the_old_title(editor):
    story = make_story(title="Old title")

    done = edit(story, actor=editor, content={"title": "New title"}, expected_version=1, comment="typo")

    stored = Story.objects.get(pk=story.pk)
    assert stored.title == "Old title" and stored.state == State.PUBLISHED
    assert done.changed == ["title"] and stored.draft_revision == done.draft
    baseline, draft = Revision.objects.filter(story=story).order_by("id")
    assert (baseline.reason, baseline.author, baseline.is_draft) == (BASELINE_REASON, None, False)
    assert baseline.data["record"]["title"] == "Old title"
    assert (draft.author, draft.reason, draft.is_draft, draft.based_on) == (editor, "typo", True, baseline)
    assert draft.data["record"]["title"] == "New title"
    assert "title" in draft.data["editor_touched"]
    assert stored.version == 2  # pages opened before are stale
    assert list(AuditEntry.objects.filter(story=story).values_list("field", "after")) == [("draft", draft.pk)]


def test_a_second_change_builds_on_the_pending_draft(editor):
    cloud = make_topic("Cloud")
    story = make_story(title="Old title")
    first = edit(story, actor=editor, content={"title": "New title"}).draft

    second = edit(story, actor=editor, add_topics=[cloud], expected_version=story.version).draft

    assert second.based_on == first
    assert (second.data["record"]["title"], second.data["topics"]) == ("New title", ["Cloud"])
    assert Story.objects.get(pk=story.pk).draft_revision == second
    assert not Story.objects.get(pk=story.pk).story_topics.exists()


def test_a_change_that_leaves_the_draft_as_it_is_makes_no_revision(editor):
    story = make_story(title="Old title")
    edit(story, actor=editor, content={"title": "New title"})

    again = edit(story, actor=editor, content={"title": "New title"}, onto_draft=True)

    assert again.draft is None and Revision.objects.filter(story=story).count() == 2


def test_quality_and_heat_of_a_live_story_stay_the_editors_to_change_at_once(editor):
    story = make_story(quality=10)

    done = edit(story, actor=editor, quality=30)

    assert done.draft is None and Story.objects.get(pk=story.pk).quality == 30


def test_a_moderators_change_is_applied_directly(moderator):
    story = make_story(title="Old title")
    done = edit(story, actor=moderator, content={"title": "New title"})
    assert done.draft is None and Story.objects.get(pk=story.pk).title == "New title"


def test_a_stale_page_makes_no_draft(editor):
    story = make_story(title="Old title")
    with pytest.raises(Exception, match="changed by someone else"):
        edit(story, actor=editor, content={"title": "New title"}, expected_version=7)
    assert not Revision.objects.exists()


def test_a_moderator_publishes_a_draft_and_readers_see_it(editor, moderator):
    story = make_story(title="Old title", related=1)
    draft = edit(story, actor=editor, content={"title": "New title"}).draft

    live = publish_draft(story, actor=moderator, expected_version=story.version)

    stored = Story.objects.get(pk=story.pk)
    assert (stored.title, stored.draft_revision, stored.state) == ("New title", None, State.PUBLISHED)
    assert stored.related_links.count() == 1
    assert live == live_revision(stored)
    assert (live.reason, live.author, live.is_draft) == (f"Draft #{draft.pk} published", moderator, False)
    assert live.data == draft.data
    entry = AuditEntry.objects.get(story=story, field="draft", actor=moderator)
    assert (entry.before, entry.after, entry.comment) == (draft.pk, None, f"Draft #{draft.pk} published")


def test_an_editor_may_not_publish_or_discard_a_draft(editor):
    story = make_story()
    edit(story, actor=editor, content={"title": "New title"})
    with pytest.raises(PermissionDenied):
        publish_draft(story, actor=editor)
    with pytest.raises(PermissionDenied):
        discard_draft(story, actor=editor)
    assert Story.objects.get(pk=story.pk).draft_revision is not None


def test_a_discarded_draft_stays_in_the_history_and_readers_never_saw_it(editor, moderator):
    story = make_story(title="Old title")
    draft = edit(story, actor=editor, content={"title": "New title"}).draft
    updated_at = Story.objects.get(pk=story.pk).updated_at

    discard_draft(story, actor=moderator)

    stored = Story.objects.get(pk=story.pk)
    assert (stored.title, stored.draft_revision, stored.updated_at) == ("Old title", None, updated_at)
    assert Revision.objects.filter(pk=draft.pk).exists()
    assert AuditEntry.objects.get(story=story, actor=moderator).comment == f"Draft #{draft.pk} discarded"


def test_a_new_draft_after_a_discarded_one_builds_on_the_live_story(editor, moderator):
    story = make_story(title="Old title")
    edit(story, actor=editor, content={"title": "Rejected title"})
    discard_draft(story, actor=moderator)
    story.refresh_from_db()

    draft = edit(story, actor=editor, content={"excerpt": "Better excerpt."}).draft

    assert draft.data["record"]["title"] == "Old title"
    assert not draft.based_on.is_draft


def test_a_stale_draft_is_published_only_when_the_moderator_confirms(editor, moderator):
    story = make_story(title="Old title", excerpt="The editor's excerpt.")
    edit(story, actor=editor, content={"title": "New title"})
    story.refresh_from_db()
    update_editorial(story, actor=moderator, content={"excerpt": "Moderator's excerpt."})

    with pytest.raises(StaleDraftError, match="undoing that later change"):
        publish_draft(story, actor=moderator)
    assert Story.objects.get(pk=story.pk).title == "Old title"

    publish_draft(story, actor=moderator, confirm_stale=True)
    stored = Story.objects.get(pk=story.pk)
    assert (stored.title, stored.excerpt) == ("New title", "The editor's excerpt.")


def test_there_is_nothing_to_publish_without_a_draft(moderator):
    story = make_story()
    with pytest.raises(Exception, match="no draft waiting"):
        publish_draft(story, actor=moderator)
