"""Record scheduled go-lives and expiries in the audit trail. Safe to run from cron at any interval.

Readers never wait for this command (``Story.objects.live()`` honours the
window on its own); it makes the history exact and moves expired stories out of
*published*, so feeds and the seed format's ``published`` flag tell the truth.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from stories.workflow import apply_schedule


class Command(BaseCommand):
    help = "Record scheduled go-lives and expiries that have happened (idempotent; for cron)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be recorded without changing anything."
        )

    def handle(self, *args, dry_run: bool = False, verbosity: int = 1, **options) -> None:
        report = apply_schedule(dry_run=dry_run)
        prefix = "Would record" if dry_run else "Recorded"
        if verbosity >= 2:
            for story in report.went_live:
                self.stdout.write(f"went live {story.go_live_at:%Y-%m-%d %H:%M}: #{story.pk} {story.title}")
            for story in report.expired:
                self.stdout.write(f"expired {story.expire_at:%Y-%m-%d %H:%M}: #{story.pk} {story.title}")
        if verbosity >= 1:
            self.stdout.write(
                f"{prefix} {len(report.went_live)} go-live(s) and {len(report.expired)} expiry(ies)."
            )
