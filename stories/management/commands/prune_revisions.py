"""Delete old revisions beyond what each story keeps (``NEWSROOM_KEEP_REVISIONS`` or ``--keep``).

A story's live revision, its latest, its pending draft and the revision that draft is based on
are never deleted (``stories.workflow.retention``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from stories.workflow.retention import prune_revisions


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Delete each story's old revisions beyond the newest N (never its live, latest or a pending draft)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--keep",
            type=_at_least_one,
            metavar="N",
            help="Revisions to keep per story (at least 1); default: the NEWSROOM_KEEP_REVISIONS setting.",
        )
        parser.add_argument("--story", type=int, metavar="ID", help="Prune one story's revisions only.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")

    def handle(self, *args, keep=None, story=None, dry_run: bool = False, **options) -> None:
        try:
            report = prune_revisions(keep=keep, story_id=story, dry_run=dry_run)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(report.summary(dry_run=dry_run))
