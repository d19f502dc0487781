"""``manage.py import_stories PATH...``: import story files, directories or standard input."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError

from stories.importing import FileResult, import_stories, iter_story_sources


class Command(BaseCommand):
    help = (
        "Import story files (YAML front matter). PATH is a file, a directory (searched recursively) "
        "or '-' for standard input. Exit status: 0 all imported, 1 some files failed, 2 usage error."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--dry-run", action="store_true", help="Report what would happen; write nothing.")
        parser.add_argument(
            "--overwrite-editorial",
            action="store_true",
            help="Let the files win over editors' changes to published, quality, heat and topics.",
        )

    def handle(self, *args, paths: list[str], dry_run: bool, overwrite_editorial: bool, **options):
        verbosity = options["verbosity"]
        missing = [p for p in paths if p != "-" and not os.path.exists(p)]
        if missing:
            raise CommandError(f"{', '.join(missing)}: no such file or directory", returncode=2)
        if paths.count("-") > 1:
            raise CommandError("'-' (standard input) can be given once", returncode=2)

        progress = _Progress(self.stderr) if verbosity >= 1 and sys.stderr.isatty() else None

        def on_result(result: FileResult) -> None:
            if result.outcome == "failed":
                self.stderr.write(f"{result.path}: {result.reason}")
            elif result.outcome == "conflict" and verbosity >= 1:
                self.stderr.write(f"{result.path}: conflict: kept the editor's {', '.join(result.conflicts)}")
            elif verbosity >= 2:
                self.stdout.write(f"{result.path}: {result.outcome}")
            if progress is not None:
                progress.tick()

        report = import_stories(
            iter_story_sources(paths, stdin=sys.stdin.buffer),
            source_label=" ".join(paths),
            dry_run=dry_run,
            overwrite_editorial=overwrite_editorial,
            on_result=on_result,
            keep_results=False,
        )
        if progress is not None:
            progress.done()
        summary = report.summary()
        if dry_run:
            summary += " (dry run: nothing was written)"
        self.stdout.write(summary)
        if report.counts["failed"]:
            sys.exit(1)


class _Progress:
    """A one-line counter on a terminal; silent otherwise."""

    def __init__(self, stream):
        self.stream = stream
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.count % 50 == 0:
            self.stream.write(f"\r{self.count} files…", ending="")
            self.stream.flush()

    def done(self) -> None:
        if self.count >= 50:
            self.stream.write("\r" + " " * 30 + "\r", ending="")
