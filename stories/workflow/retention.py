"""How many old revisions each story keeps (``NEWSROOM_KEEP_REVISIONS``), and pruning the rest.

Pruning never deletes what a story still needs: its live revision (the newest that is not a
draft: what its rows hold), its latest, its pending draft (``Story.draft_revision``) and the
revision that draft is based on. A revision whose ``based_on`` is pruned keeps its data whole;
only the link is cleared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from django.db import transaction

from stories.models import Revision, Story

DELETE_BATCH = 500


@dataclass
class PruneReport:
    """What pruning did (or would do, on a dry run)."""

    keep: int | None  # revisions kept per story; None: every one
    stories: int = 0  # stories that lost (or would lose) revisions
    deleted: int = 0
    kept: int = 0  # revisions left
    protected: int = 0  # of them, kept beyond ``keep`` as a live, latest or draft revision

    def summary(self, *, dry_run: bool = False) -> str:
        if self.keep is None:
            return "Every revision is kept (NEWSROOM_KEEP_REVISIONS is not set; give --keep N to prune)."
        verb = "Would delete" if dry_run else "Deleted"
        return (
            f"{verb} {self.deleted} old revision(s) of {self.stories} story(ies), keeping {self.keep} "
            f"per story; {self.kept} revision(s) kept, {self.protected} of them beyond {self.keep} "
            "because a story still needs them (live, latest or a pending draft)."
        )


def _needed(revisions: list[tuple[int, bool]], draft: tuple[int | None, int | None]) -> set[int]:
    """The revisions of one story (newest first, as ``(id, is_draft)``) it cannot lose."""
    needed = {revisions[0][0]} | {pk for pk in draft if pk is not None}
    live = next((pk for pk, is_draft in revisions if not is_draft), None)
    return needed | ({live} if live is not None else set())


def _prunable(
    rows: Iterable[tuple[int, int, bool]], drafts: dict, keep: int, report: PruneReport
) -> Iterator[int]:
    for story_id, group in groupby(rows, key=lambda row: row[1]):
        revisions = [(pk, is_draft) for pk, _, is_draft in group]
        needed = _needed(revisions, drafts.get(story_id, (None, None)))
        older = [pk for pk, _ in revisions[keep:]]
        doomed = [pk for pk in older if pk not in needed]
        report.kept += len(revisions) - len(doomed)
        report.protected += len(older) - len(doomed)
        if doomed:
            report.stories += 1
            report.deleted += len(doomed)
            yield from doomed


@transaction.atomic
def prune_revisions(
    *, keep: int | None = None, story_id: int | None = None, dry_run: bool = False
) -> PruneReport:
    """Delete each story's revisions beyond its ``keep`` newest (default: the setting), except those
    it still needs (see the module docstring). ``story_id``: one story only."""
    keep = settings.NEWSROOM_KEEP_REVISIONS if keep is None else keep
    report = PruneReport(keep=keep)
    if keep is None:
        return report
    if keep < 1:
        raise ValueError(f"Keep at least 1 revision per story, not {keep}.")
    revisions = Revision.objects.all()
    stories = Story.objects.filter(draft_revision__isnull=False)
    if story_id is not None:
        revisions, stories = revisions.filter(story_id=story_id), stories.filter(pk=story_id)
    drafts = {
        pk: (draft, based_on)
        for pk, draft, based_on in stories.values_list(
            "pk", "draft_revision_id", "draft_revision__based_on_id"
        )
    }
    rows = revisions.order_by("story_id", "-id").values_list("id", "story_id", "is_draft")
    doomed = list(_prunable(rows.iterator(chunk_size=2000), drafts, keep, report))
    if not dry_run:
        for start in range(0, len(doomed), DELETE_BATCH):
            Revision.objects.filter(pk__in=doomed[start : start + DELETE_BATCH]).delete()
    return report
