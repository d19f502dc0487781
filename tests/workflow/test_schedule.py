"""Scheduled publishing and expiry: readers honour the window on their own; the command records history."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from stories import workflow
from stories.models import AuditEntry, State, Story
from tests.conftest import make_story

pytestmark = pytest.mark.django_db


def test_scheduled_story_is_not_live_before_its_go_live_time_without_the_command(moderator):
    story = make_story(state=State.IN_REVIEW)
    go_live = timezone.now() + timedelta(hours=1)
    workflow.transition(story, action="publish", actor=moderator, go_live_at=go_live)
    assert not Story.objects.live().filter(pk=story.pk).exists()
    assert Story.objects.live(now=go_live + timedelta(seconds=1)).filter(pk=story.pk).exists()
    assert not Story.objects.live().filter(pk=story.pk).exists()


def test_expired_story_leaves_reader_queries_without_the_command(moderator):
    story = make_story(state=State.IN_REVIEW)
    expire = timezone.now() + timedelta(hours=1)
    workflow.transition(story, action="publish", actor=moderator, expire_at=expire)
    assert Story.objects.live().filter(pk=story.pk).exists()
    assert not Story.objects.live(now=expire).filter(pk=story.pk).exists()
    story.refresh_from_db()
    assert story.state == State.PUBLISHED  # nothing ran yet


def test_scheduler_records_the_go_live_at_the_time_it_happened_once(moderator):
    story = make_story(state=State.IN_REVIEW)
    go_live = timezone.now() + timedelta(hours=1)
    workflow.transition(story, action="publish", actor=moderator, go_live_at=go_live)
    assert workflow.apply_schedule(now=go_live - timedelta(minutes=1)).went_live == []

    report = workflow.apply_schedule(now=go_live + timedelta(minutes=5))
    assert [s.pk for s in report.went_live] == [story.pk]
    entry = AuditEntry.objects.get(story=story, action="went_live")
    assert entry.created_at == go_live
    assert entry.actor is None

    assert workflow.apply_schedule(now=go_live + timedelta(minutes=10)).went_live == []
    assert AuditEntry.objects.filter(story=story, action="went_live").count() == 1


def test_story_published_without_a_future_go_live_gets_no_went_live_entry(moderator):
    story = make_story(state=State.IN_REVIEW)
    workflow.transition(
        story, action="publish", actor=moderator, go_live_at=timezone.now() - timedelta(hours=1)
    )
    workflow.apply_schedule(now=timezone.now() + timedelta(hours=1))
    assert not AuditEntry.objects.filter(story=story, action="went_live").exists()


def test_scheduler_moves_an_expired_story_back_to_review_and_records_when(moderator):
    story = make_story(state=State.IN_REVIEW)
    expire = timezone.now() + timedelta(hours=1)
    workflow.transition(story, action="publish", actor=moderator, expire_at=expire)

    report = workflow.apply_schedule(now=expire + timedelta(minutes=3))
    assert [s.pk for s in report.expired] == [story.pk]
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW
    assert story.version == 3
    entry = AuditEntry.objects.get(story=story, action="expired")
    assert (entry.before, entry.after, entry.created_at) == (State.PUBLISHED, State.IN_REVIEW, expire)

    assert workflow.apply_schedule(now=expire + timedelta(minutes=9)).expired == []
    assert AuditEntry.objects.filter(story=story, action="expired").count() == 1


def test_history_of_a_scheduled_window_is_in_order(moderator):
    story = make_story(state=State.IN_REVIEW)
    go_live = timezone.now() + timedelta(hours=1)
    expire = go_live + timedelta(hours=1)
    workflow.transition(story, action="publish", actor=moderator, go_live_at=go_live, expire_at=expire)
    workflow.apply_schedule(now=expire + timedelta(minutes=1))
    actions = list(
        AuditEntry.objects.filter(story=story, field="state")
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["publish", "went_live", "expired"]


def test_command_is_idempotent_and_reports(moderator):
    story = make_story(state=State.PUBLISHED, expire_at=timezone.now() - timedelta(minutes=1))
    out = StringIO()
    call_command("apply_schedule", stdout=out)
    assert "1 expiry" in out.getvalue()
    story.refresh_from_db()
    assert story.state == State.IN_REVIEW
    out = StringIO()
    call_command("apply_schedule", stdout=out)
    assert "0 go-live(s) and 0 expiry" in out.getvalue()


def test_command_dry_run_changes_nothing():
    story = make_story(state=State.PUBLISHED, expire_at=timezone.now() - timedelta(minutes=1))
    out = StringIO()
    call_command("apply_schedule", "--dry-run", "--verbosity", "2", stdout=out)
    assert "Would record 0 go-live(s) and 1 expiry" in out.getvalue()
    assert story.title in out.getvalue()
    story.refresh_from_db()
    assert story.state == State.PUBLISHED
    assert not AuditEntry.objects.exists()
