"""Optimistic locking: of two people changing the same story, the later stale write is refused."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, connections

from stories import workflow
from stories.models import AuditEntry, State, Story
from stories.workflow import StaleStoryError
from tests.conftest import make_story, make_topic

pytestmark = pytest.mark.django_db


def test_every_write_bumps_the_version(editor, moderator):
    story = make_story(state=State.DRAFT)
    workflow.update_editorial(story, actor=editor, quality=1)
    workflow.transition(story, action="submit", actor=editor)
    workflow.transition(story, action="publish", actor=moderator)
    story.refresh_from_db()
    assert story.version == 4


def test_write_from_an_old_copy_is_refused_even_without_an_expected_version(editor, moderator):
    mine = make_story(state=State.IN_REVIEW, quality=10)
    theirs = Story.objects.get(pk=mine.pk)
    workflow.update_editorial(theirs, actor=moderator, quality=30)
    with pytest.raises(StaleStoryError):
        workflow.update_editorial(mine, actor=editor, quality=20)
    assert Story.objects.get(pk=mine.pk).quality == 30


def test_refused_write_leaves_no_audit_entry_and_no_topics_change(editor, moderator):
    story = make_story(state=State.IN_REVIEW, topics=[make_topic("Kept")])
    workflow.update_editorial(Story.objects.get(pk=story.pk), actor=moderator, heat=3)
    with pytest.raises(StaleStoryError):
        workflow.update_editorial(story, actor=editor, topics=[make_topic("Lost")], expected_version=1)
    assert [st.topic.name for st in story.story_topics.all()] == ["Kept"]
    assert list(AuditEntry.objects.values_list("field", flat=True)) == ["heat"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writers_cannot_both_win(django_user_model):
    # Transactional tests may run after a flush that emptied the migration-made groups,
    # so these two people get the permission directly.
    change = Permission.objects.get(content_type__app_label="stories", codename="change_story")
    editor, moderator = (django_user_model.objects.create_user(name, is_staff=True) for name in ("ed", "mo"))
    for person in (editor, moderator):
        person.user_permissions.add(change)
    story = make_story(state=State.IN_REVIEW, quality=10)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write(actor, quality):
        try:
            copy = Story.objects.get(pk=story.pk)
            barrier.wait(timeout=10)
            workflow.update_editorial(copy, actor=actor, quality=quality, expected_version=1)
            outcomes.append("saved")
        except StaleStoryError:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=args) for args in ((editor, 20), (moderator, 30))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["saved", "stale"]
    fresh = Story.objects.get(pk=story.pk)
    assert fresh.version == 2
    assert AuditEntry.objects.filter(story=fresh, field="quality").count() == 1
    assert fresh.quality == AuditEntry.objects.get(story=fresh).after
