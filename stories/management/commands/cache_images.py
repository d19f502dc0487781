"""Fetch story, related-coverage and provider images into the local image cache."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from stories.images import cache_images
from stories.management.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Download images that have no local copy yet, verify them and make thumbnails. "
        "Safe to rerun: images already cached are skipped. Exits 1 if any image failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--retry-failed", action="store_true", help="Also retry images that failed.")
        parser.add_argument("--force", action="store_true", help="Fetch every image again, cached or not.")
        parser.add_argument(
            "--workers", type=int, default=settings.NEWSROOM_IMAGE_WORKERS,
            help="Downloads at the same time (default: %(default)s).",
        )
        parser.add_argument(
            "--story", type=int, action="append", dest="story_ids", metavar="ID",
            help="Only this story's images (repeatable).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, fetch nothing.")

    def handle(self, *args, **options) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        verbosity = options["verbosity"]
        with ProgressBar(self.stderr, unit="images", verbosity=verbosity) as progress:
            report = cache_images(
                story_ids=options["story_ids"],
                retry_failed=options["retry_failed"],
                force=options["force"],
                workers=options["workers"],
                dry_run=options["dry_run"],
                progress=progress.show,
            )
        if verbosity >= 1:
            for failure in report.failures:
                self.stderr.write(f"failed: image {failure.image_id} {failure.url}: {failure.reason}")
            if options["dry_run"]:
                self.stdout.write(f"would fetch {report.cached}, skip {report.skipped}")
            else:
                self.stdout.write(str(report))
        if report.failed:
            raise CommandError(f"{report.failed} image(s) could not be cached", returncode=1)

