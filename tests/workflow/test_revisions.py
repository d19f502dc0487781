"""Every workflow change keeps the story whole as a revision, with who and why; a no-op keeps none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stories import workflow
from stories.models import RelatedLink, Revision, State
from stories.records import stories_with_rows
from stories.snapshots import snapshot_of
from stories.workflow.revisions import BASELINE_REASON
from tests.conftest import make_provider, make_story, make_topic
from tests.images_support import make_image_bytes

pytestmark = pytest.mark.django_db


def snapshot(story) -> dict:
    return snapshot_of(stories_with_rows().get(pk=story.pk))


def revisions(story) -> list[Revision]:
    """Oldest first."""
    return list(Revision.objects.filter(story=story).order_by("id"))


def test_the_first_change_keeps_the_story_as_it_was_then_the_change(editor):
    story = make_story(state=State.IN_REVIEW, quality=50)
    before = snapshot(story)

    workflow.update_editorial(story, actor=editor, quality=70)

    baseline, change = revisions(story)
    assert (baseline.reason, baseline.author, baseline.based_on) == (BASELINE_REASON, None, None)
    assert baseline.data == before
    assert change.author == editor and change.reason == "Changed quality"
    assert change.based_on == baseline and change.data == snapshot(story)
    assert change.data["quality"] == 70 and not change.is_draft


def test_a_later_change_has_no_second_baseline_and_its_comment_is_its_reason(editor):
    story = make_story(state=State.IN_REVIEW)
    workflow.update_editorial(story, actor=editor, quality=70)
    workflow.update_editorial(story, actor=editor, heat=3, comment="Cooler now.")
    reasons = [r.reason for r in revisions(story)]
    assert reasons == [BASELINE_REASON, "Changed quality", "Cooler now."]


def test_a_save_that_changes_nothing_keeps_no_revision_and_reads_none(editor):
    story = make_story(state=State.IN_REVIEW, quality=50)
    with CaptureQueriesContext(connection) as queries:
        assert workflow.update_editorial(story, actor=editor, quality=50) == []
    assert not [q for q in queries.captured_queries if "stories_revision" in q["sql"]]
    assert len(queries) <= 5  # the person's permissions and the stored topics: nothing is snapshotted
    assert revisions(story) == []


def test_an_edit_of_a_related_link_inline_is_a_revision_with_the_new_title(editor):
    story = make_story(state=State.IN_REVIEW, related=2)
    link = RelatedLink.objects.filter(story=story).order_by("position").first()
    link.title = "Better title"
    workflow.update_editorial(story, actor=editor, related=workflow.RowChanges(changed=[(link, ["title"])]))
    change = revisions(story)[-1]
    assert change.reason == "Changed related"
    assert change.data["record"]["related"][0]["title"] == "Better title"
    assert revisions(story)[0].data["record"]["related"][0]["title"] != "Better title"


def test_a_refused_change_leaves_no_revision(editor):
    story = make_story(state=State.PUBLISHED)
    with pytest.raises(workflow.ModeratorOnlyError):
        workflow.update_editorial(story, actor=editor, content={"title": "New"})
    assert revisions(story) == []


def test_transitions_name_what_they_did_and_the_comment(moderator, editor):
    story = make_story(state=State.DRAFT)
    workflow.transition(story, action=workflow.SUBMIT, actor=editor)
    workflow.transition(story, action=workflow.REJECT, actor=moderator, comment="Too thin.")
    *_, submitted, rejected = revisions(story)
    assert (submitted.reason, submitted.author, submitted.data["state"]) == (
        "Submitted for review",
        editor,
        State.IN_REVIEW,
    )
    assert (rejected.reason, rejected.author, rejected.data["state"]) == (
        "Rejected: Too thin.",
        moderator,
        State.REJECTED,
    )


def test_publishing_with_a_future_go_live_time_is_scheduled_and_keeps_the_window(moderator):
    story = make_story(state=State.IN_REVIEW)
    go_live = timezone.now() + timedelta(hours=2)
    workflow.transition(story, action=workflow.PUBLISH, actor=moderator, go_live_at=go_live)
    latest = revisions(story)[-1]
    assert latest.reason == "Scheduled"
    assert latest.data["state"] == State.PUBLISHED
    assert latest.data["go_live_at"] == go_live.isoformat()


def test_publishing_now_is_published(moderator):
    story = make_story(state=State.IN_REVIEW)
    workflow.transition(story, action=workflow.PUBLISH, actor=moderator)
    assert revisions(story)[-1].reason == "Published"


def test_changing_the_window_is_a_scheduled_revision_and_an_unchanged_one_is_none(moderator):
    story = make_story(state=State.PUBLISHED)
    expire = timezone.now() + timedelta(days=3)
    workflow.schedule(story, actor=moderator, go_live_at=None, expire_at=expire)
    assert [r.reason for r in revisions(story)] == [BASELINE_REASON, "Scheduled"]
    assert revisions(story)[-1].data["expire_at"] == expire.isoformat()
    workflow.schedule(story, actor=moderator, go_live_at=None, expire_at=expire)
    assert len(revisions(story)) == 2


def test_the_scheduler_keeps_an_expiry_as_a_revision_by_the_system(moderator):
    story = make_story(state=State.IN_REVIEW)
    expire = timezone.now() + timedelta(hours=1)
    workflow.transition(story, action=workflow.PUBLISH, actor=moderator, expire_at=expire)
    workflow.apply_schedule(now=expire + timedelta(minutes=1))
    expired = revisions(story)[-1]
    assert expired.reason.startswith("Expired at ") and expired.author is None
    assert expired.data["state"] == State.IN_REVIEW and expired.based_on.reason == "Published"


def test_a_go_live_changes_nothing_a_revision_keeps(moderator):
    story = make_story(state=State.IN_REVIEW)
    go_live = timezone.now() + timedelta(hours=1)
    workflow.transition(story, action=workflow.PUBLISH, actor=moderator, go_live_at=go_live)
    count = len(revisions(story))
    report = workflow.apply_schedule(now=go_live + timedelta(minutes=1))
    assert report.went_live == [story] and len(revisions(story)) == count


def test_a_new_lead_image_is_a_revision(moderator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    story = make_story(state=State.IN_REVIEW)
    workflow.replace_lead_image(story, actor=moderator, data=make_image_bytes(), comment="Sharper.")
    latest = revisions(story)[-1]
    assert latest.reason == "Sharper." and latest.author == moderator
    assert latest.data["record"]["images"][0]["url"] != revisions(story)[0].data["record"]["images"][0]["url"]


def test_merging_topics_keeps_a_revision_of_each_story_it_moves(moderator):
    ai, dup = make_topic("AI"), make_topic("Artificial Intelligence")
    first, second = make_story(topics=[dup]), make_story(topics=[ai, dup])
    untouched = make_story(topics=[ai])
    workflow.merge_topics(survivor=ai, duplicates=[dup], actor=moderator)
    for story in (first, second):
        latest = revisions(story)[-1]
        assert latest.reason == "Merged Artificial Intelligence into AI." and latest.data["topics"] == ["AI"]
    assert revisions(untouched) == []


def test_merging_providers_keeps_a_revision_of_each_story_and_of_stories_citing_them(moderator):
    survivor, dup = make_provider(name="Keep"), make_provider(name="Dup", domain="dup.example")
    own = make_story(provider=dup)
    citing = make_story(related=1)
    RelatedLink.objects.filter(story=citing).update(provider=dup)
    assert workflow.merge_providers(survivor=survivor, duplicates=[dup], actor=moderator) == 1
    assert revisions(own)[-1].data["provider_domain"] == survivor.domain
    assert revisions(own)[-1].data == snapshot(own)
    assert [r.reason for r in revisions(citing)] == [BASELINE_REASON, "Merged Dup into Keep."]
    assert revisions(citing)[-1].data == snapshot(citing)


def test_a_bulk_action_keeps_one_revision_per_story(moderator):
    stories = [make_story(state=State.IN_REVIEW) for _ in range(3)]
    result = workflow.apply_each(
        stories,
        lambda story, seen: workflow.transition(
            story, action=workflow.PUBLISH, actor=moderator, expected_version=seen
        ),
        versions={s.pk: s.version for s in stories},
    )
    assert len(result.done) == 3
    for story in stories:
        assert [r.reason for r in revisions(story)] == [BASELINE_REASON, "Published"]
