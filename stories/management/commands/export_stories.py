"""``manage.py export_stories --out DIR``: write every story as a story file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from stories.imports.export import export_filename, export_story, stories_for_export


class Command(BaseCommand):
    help = (
        "Write one story file per story into DIR, in the import format, named "
        "<date>-<slug of title>-<first 8 of identity>.md. Editorial fields show their current values. "
        "A story with a draft waiting for a moderator is written as the draft, unless --live."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, metavar="DIR", help="Directory to write into (created).")
        parser.add_argument("--published-only", action="store_true", help="Only stories that are published.")
        parser.add_argument(
            "--live", action="store_true", help="What readers see: a story's rows, not its pending draft."
        )

    def handle(self, *args, out: str, published_only: bool, live: bool = False, **options):
        directory = Path(out)
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{out}: not a directory", returncode=2)
        directory.mkdir(parents=True, exist_ok=True)
        stories = stories_for_export().order_by("id")
        if published_only:
            stories = stories.published()
        count = 0
        for story in stories.iterator(chunk_size=500):
            path = directory / export_filename(story)
            # newline="" keeps the story's own line endings (some files are CRLF)
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(export_story(story, live=live))
            count += 1
            if options["verbosity"] >= 2:
                self.stdout.write(str(path))
        self.stdout.write(f"exported {count} stories to {directory}")
