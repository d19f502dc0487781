"""The workflow service: who may do what, what each move writes, and what it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from stories import workflow
from stories.models import AuditEntry, ImportRun, State, Story
from stories.workflow import StaleStoryError, WorkflowError
from tests.conftest import make_story, make_topic

pytestmark = pytest.mark.django_db

# (action, from state, to state, comment)
MOVES = [
    ("submit", State.DRAFT, State.IN_REVIEW, ""),
    ("publish", State.IN_REVIEW, State.PUBLISHED, ""),
    ("publish", State.DRAFT, State.PUBLISHED, ""),
    ("publish", State.REJECTED, State.PUBLISHED, ""),
    ("unpublish", State.PUBLISHED, State.IN_REVIEW, ""),
    ("reject", State.IN_REVIEW, State.REJECTED, "Duplicate of another story"),
    ("request_changes", State.IN_REVIEW, State.DRAFT, "Fix the title"),
]
EDITOR_MAY = {"submit"}
MODERATOR_MAY = {"submit", "publish", "unpublish", "reject", "request_changes"}


@pytest.mark.parametrize(("action", "source", "target", "comment"), MOVES)
def test_moderator_may_make_every_move(moderator, action, source, target, comment):
    story = make_story(state=source)
    workflow.transition(story, action=action, actor=moderator, comment=comment)
    story.refresh_from_db()
    assert story.state == target
    assert story.version == 2


@pytest.mark.parametrize(("action", "source", "target", "comment"), MOVES)
def test_editor_may_only_submit(editor, action, source, target, comment):
    story = make_story(state=source)
    if action in EDITOR_MAY:
        workflow.transition(story, action=action, actor=editor, comment=comment)
        story.refresh_from_db()
        assert story.state == target
    else:
        with pytest.raises(PermissionDenied):
            workflow.transition(story, action=action, actor=editor, comment=comment)
        story.refresh_from_db()
        assert story.state == source
        assert not AuditEntry.objects.filter(story=story).exists()


@pytest.mark.parametrize(("action", "source", "target", "comment"), MOVES)
def test_staff_without_roles_and_anonymous_may_not_move_anything(
    staff_without_roles, action, source, target, comment
):
    story = make_story(state=source)
    for actor in (staff_without_roles, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            workflow.transition(story, action=action, actor=actor, comment=comment)
    story.refresh_from_db()
    assert story.state == source
    assert story.version == 1


@pytest.mark.parametrize(
    ("action", "source"),
    [
        ("submit", State.IN_REVIEW),
        ("submit", State.PUBLISHED),
        ("publish", State.PUBLISHED),
        ("unpublish", State.IN_REVIEW),
        ("unpublish", State.DRAFT),
        ("reject", State.PUBLISHED),
        ("reject", State.DRAFT),
        ("request_changes", State.PUBLISHED),
    ],
)
def test_invalid_moves_are_refused_with_a_clear_message(moderator, action, source):
    story = make_story(state=source, title="Solar cars")
    with pytest.raises(WorkflowError) as excinfo:
        workflow.transition(story, action=action, actor=moderator, comment="because")
    assert "Solar cars" in str(excinfo.value)
    story.refresh_from_db()
    assert story.state == source
    assert story.version == 1


def test_reject_needs_a_reason(moderator):
    story = make_story(state=State.IN_REVIEW)
    with pytest.raises(WorkflowError, match="reason"):
        workflow.transition(story, action="reject", actor=moderator, comment="   ")
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW


def test_request_changes_needs_a_comment(moderator):
    story = make_story(state=State.IN_REVIEW)
    with pytest.raises(WorkflowError, match="comment"):
        workflow.transition(story, action="request_changes", actor=moderator)


def test_unknown_action_is_refused(moderator):
    with pytest.raises(WorkflowError, match="Unknown"):
        workflow.transition(make_story(state=State.IN_REVIEW), action="archive", actor=moderator)


def test_transition_records_who_before_after_and_reason(moderator):
    story = make_story(state=State.IN_REVIEW)
    workflow.transition(story, action="reject", actor=moderator, comment="Off topic")
    entry = AuditEntry.objects.get(story=story)
    assert (entry.action, entry.field) == ("reject", "state")
    assert (entry.before, entry.after) == ("in_review", "rejected")
    assert entry.actor == moderator
    assert entry.comment == "Off topic"
    story.refresh_from_db()
    assert story.state_comment == "Off topic"


def test_transition_by_a_person_marks_published_as_editor_touched(moderator):
    story = make_story(state=State.IN_REVIEW)
    workflow.transition(story, action="publish", actor=moderator)
    story.refresh_from_db()
    assert story.editor_touched == ["published"]


def test_system_transition_for_an_import_is_allowed_and_does_not_mark_editor_touched():
    story = make_story(state=State.IN_REVIEW)
    run = ImportRun.objects.create(source="batch")
    workflow.transition(story, action="publish", actor=None, import_run=run)
    story.refresh_from_db()
    assert story.state == State.PUBLISHED
    assert story.editor_touched == []
    assert AuditEntry.objects.get(story=story).import_run == run


def test_stale_expected_version_is_refused_and_nothing_written(moderator):
    story = make_story(state=State.IN_REVIEW)
    with pytest.raises(StaleStoryError, match="changed by someone else"):
        workflow.transition(story, action="publish", actor=moderator, expected_version=7)
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW
    assert not AuditEntry.objects.exists()


def test_a_writer_holding_an_old_copy_loses_to_the_one_who_wrote_first(moderator, editor):
    first = make_story(state=State.IN_REVIEW, quality=10)
    second = Story.objects.get(pk=first.pk)
    workflow.update_editorial(first, actor=editor, quality=70)
    with pytest.raises(StaleStoryError):
        workflow.transition(second, action="publish", actor=moderator)
    fresh = Story.objects.get(pk=first.pk)
    assert (fresh.state, fresh.quality, fresh.version) == (State.IN_REVIEW, 70, 2)


def test_publish_with_a_window_sets_and_audits_it(moderator):
    story = make_story(state=State.IN_REVIEW)
    go_live = timezone.now() + timedelta(hours=2)
    expire = go_live + timedelta(days=1)
    workflow.transition(story, action="publish", actor=moderator, go_live_at=go_live, expire_at=expire)
    story.refresh_from_db()
    assert (story.go_live_at, story.expire_at) == (go_live, expire)
    assert set(AuditEntry.objects.filter(action="schedule").values_list("field", flat=True)) == {
        "go_live_at",
        "expire_at",
    }


def test_publishing_an_expired_story_is_refused(moderator):
    story = make_story(state=State.IN_REVIEW, expire_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(WorkflowError, match="expired"):
        workflow.transition(story, action="publish", actor=moderator)
    workflow.transition(story, action="publish", actor=moderator, expire_at=None)
    story.refresh_from_db()
    assert story.is_live()


def test_window_must_end_after_it_starts(moderator):
    story = make_story(state=State.PUBLISHED)
    now = timezone.now()
    with pytest.raises(WorkflowError, match="after the go-live"):
        workflow.schedule(story, actor=moderator, go_live_at=now, expire_at=now - timedelta(hours=1))


def test_schedule_needs_publish_permission(editor):
    story = make_story(state=State.PUBLISHED)
    with pytest.raises(PermissionDenied):
        workflow.schedule(story, actor=editor, go_live_at=timezone.now() + timedelta(hours=1), expire_at=None)


def test_schedule_changes_the_window_and_audits_it(moderator):
    story = make_story(state=State.PUBLISHED)
    expire = timezone.now() + timedelta(days=3)
    workflow.schedule(story, actor=moderator, go_live_at=None, expire_at=expire, expected_version=1)
    story.refresh_from_db()
    assert story.expire_at == expire
    assert story.version == 2
    entry = AuditEntry.objects.get(story=story)
    assert (entry.action, entry.field, entry.before, entry.after) == (
        "schedule",
        "expire_at",
        None,
        expire.isoformat(),
    )


def test_update_editorial_records_quality_heat_and_topics(editor):
    ai, cloud, chips = make_topic("AI"), make_topic("Cloud"), make_topic("Chips")
    story = make_story(state=State.IN_REVIEW, quality=40, heat=10, topics=[ai, cloud])
    changed = workflow.update_editorial(
        story, actor=editor, quality=80, heat=11, topics=[chips, ai], expected_version=1
    )
    assert changed == ["quality", "heat", "topics"]
    story.refresh_from_db()
    assert (story.quality, story.heat, story.version) == (80, 11, 2)
    assert [st.topic.name for st in story.story_topics.all()] == ["Chips", "AI"]
    assert sorted(story.editor_touched) == ["heat", "quality", "topics"]
    entries = {e.field: (e.before, e.after, e.actor) for e in AuditEntry.objects.filter(story=story)}
    assert entries == {
        "quality": (40, 80, editor),
        "heat": (10, 11, editor),
        "topics": (["AI", "Cloud"], ["Chips", "AI"], editor),
    }


def test_update_editorial_leaves_unset_fields_alone(editor):
    story = make_story(state=State.IN_REVIEW, quality=40, heat=10)
    workflow.update_editorial(story, actor=editor, heat=12)
    story.refresh_from_db()
    assert (story.quality, story.heat) == (40, 12)
    assert story.editor_touched == ["heat"]


def test_update_editorial_without_a_change_writes_nothing(editor):
    story = make_story(state=State.IN_REVIEW, quality=40)
    assert workflow.update_editorial(story, actor=editor, quality=40) == []
    story.refresh_from_db()
    assert story.version == 1
    assert not AuditEntry.objects.exists()


def test_attach_and_detach_topics_keep_the_others(editor):
    ai, cloud, chips = make_topic("AI"), make_topic("Cloud"), make_topic("Chips")
    story = make_story(state=State.IN_REVIEW, topics=[ai, cloud])
    workflow.update_editorial(story, actor=editor, add_topics=[chips, ai], remove_topics=[cloud])
    assert [st.topic.name for st in Story.objects.get(pk=story.pk).story_topics.all()] == ["AI", "Chips"]


def test_update_editorial_needs_change_permission(staff_without_roles):
    story = make_story(state=State.IN_REVIEW, quality=40)
    with pytest.raises(PermissionDenied):
        workflow.update_editorial(story, actor=staff_without_roles, quality=90)
    story.refresh_from_db()
    assert story.quality == 40


def test_update_editorial_by_an_import_does_not_mark_editor_touched():
    story = make_story(state=State.IN_REVIEW, quality=40)
    run = ImportRun.objects.create(source="batch")
    workflow.update_editorial(story, actor=None, import_run=run, quality=45)
    story.refresh_from_db()
    assert story.editor_touched == []
    assert AuditEntry.objects.get(story=story).import_run == run


def test_update_editorial_refuses_a_stale_version(editor):
    story = make_story(state=State.IN_REVIEW, quality=40)
    with pytest.raises(StaleStoryError):
        workflow.update_editorial(story, actor=editor, quality=90, expected_version=0)
    story.refresh_from_db()
    assert story.quality == 40


def test_update_editorial_refuses_workflow_fields_as_content(editor):
    story = make_story(state=State.IN_REVIEW)
    with pytest.raises(WorkflowError, match="state"):
        workflow.update_editorial(story, actor=editor, content={"state": State.PUBLISHED})


def test_available_transitions_follow_role_and_state(editor, moderator):
    story = make_story(state=State.IN_REVIEW)
    assert [t.action for t in workflow.available_transitions(story, editor)] == []
    assert [t.action for t in workflow.available_transitions(story, moderator)] == [
        "publish",
        "reject",
        "request_changes",
    ]
