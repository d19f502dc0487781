"""Pruning old revisions: each story keeps its newest N, and never what it still needs."""

from __future__ import annotations

import pytest

from stories.models import Revision, State, Story
from stories.workflow.retention import prune_revisions
from tests.conftest import make_story

pytestmark = pytest.mark.django_db


def history(story: Story, *drafts: int, count: int = 5) -> list[Revision]:
    """``count`` revisions of ``story``, oldest first; those at the positions in ``drafts`` are drafts."""
    made, based_on = [], None
    for n in range(count):
        based_on = Revision.objects.create(
            story=story, reason=f"r{n}", data={"n": n}, is_draft=n in drafts, based_on=based_on
        )
        made.append(based_on)
    return made


def left(story: Story) -> list[str]:
    return list(Revision.objects.filter(story=story).order_by("id").values_list("reason", flat=True))


def test_pruning_keeps_the_newest_n_of_each_story():
    first, second = make_story(), make_story()
    history(first)
    history(second, count=2)
    report = prune_revisions(keep=2)
    assert left(first) == ["r3", "r4"] and left(second) == ["r0", "r1"]
    assert (report.stories, report.deleted, report.kept, report.protected) == (1, 3, 4, 0)


def test_pruning_never_deletes_the_live_revision_behind_newer_drafts():
    story = make_story(state=State.PUBLISHED)
    history(story, 3, 4)  # r2 is what readers see; r3 and r4 are drafts
    report = prune_revisions(keep=1)
    assert left(story) == ["r2", "r4"]
    assert report.protected == 1


def test_pruning_never_deletes_a_pending_draft_nor_the_revision_it_is_based_on():
    story = make_story(state=State.PUBLISHED)
    revisions = history(story, 1)
    Story.objects.filter(pk=story.pk).update(draft_revision=revisions[1])  # based on r0
    prune_revisions(keep=1)
    assert left(story) == ["r0", "r1", "r4"]


def test_a_dry_run_counts_and_deletes_nothing():
    story = make_story()
    history(story)
    report = prune_revisions(keep=2, dry_run=True)
    assert report.deleted == 3 and len(left(story)) == 5
    assert report.summary(dry_run=True).startswith("Would delete 3 old revision(s) of 1 story(ies)")


def test_one_story_only():
    first, second = make_story(), make_story()
    history(first)
    history(second)
    prune_revisions(keep=1, story_id=first.pk)
    assert left(first) == ["r4"] and len(left(second)) == 5


def test_the_setting_decides_and_unset_keeps_everything(settings):
    story = make_story()
    history(story)
    settings.NEWSROOM_KEEP_REVISIONS = None
    assert prune_revisions().deleted == 0 and len(left(story)) == 5
    settings.NEWSROOM_KEEP_REVISIONS = 3
    assert prune_revisions().deleted == 2 and left(story) == ["r2", "r3", "r4"]


def test_the_command_prunes_reports_and_refuses_keeping_none(cli, settings):
    settings.NEWSROOM_KEEP_REVISIONS = None
    story = make_story()
    history(story)
    code, out, _ = cli("prune_revisions")
    assert code == 0 and "Every revision is kept" in out and len(left(story)) == 5
    code, out, _ = cli("prune_revisions", "--keep", "2", "--dry-run", "--story", str(story.pk))
    assert code == 0 and out.startswith("Would delete 3") and len(left(story)) == 5
    code, out, _ = cli("prune_revisions", "--keep", "2")
    assert code == 0 and out.startswith("Deleted 3 old revision(s) of 1 story(ies)") and len(left(story)) == 2
    code, _, err = cli("prune_revisions", "--keep", "0")
    assert code != 0 and "--keep" in err and len(left(story)) == 2
