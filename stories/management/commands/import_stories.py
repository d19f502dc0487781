"""``manage.py import_stories PATH...``: import story files, directories or standard input."""

from __future__ import annotations

import os
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from stories.imports.outcomes import FileResult, ImportOutcome
from stories.imports.service import ImportCrashed, import_stories
from stories.imports.sources import iter_story_sources
from stories.management.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Import story files (YAML front matter). PATH is a file, a directory (searched recursively) "
        "or '-' for standard input. Exit status: 0 all imported, 1 some files failed, 2 usage error, "
        "3 the import crashed (recorded as a crashed run; what was committed before is kept)."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--dry-run", action="store_true", help="Report what would happen; write nothing.")
        parser.add_argument(
            "--overwrite-editorial",
            action="store_true",
            help=(
                "Let the files win over the values people changed (content, related links, images, "
                "published, quality, heat, topics)."
            ),
        )
        parser.add_argument(
            "--user",
            help=(
                "Import as this user: their permissions apply (without stories.publish_story, new "
                "stories wait in review and a published story's reader-visible fields are held for a "
                "moderator), and the run and its audit entries name them. Default: the system."
            ),
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            help=(
                "Processes to use: this one writes while N-1 workers parse (default 1: no workers; "
                "0: one per CPU)."
            ),
        )

    def handle(
        self,
        *args,
        paths: list[str],
        dry_run: bool,
        overwrite_editorial: bool,
        jobs: int,
        user: str | None = None,
        **options,
    ):
        verbosity = options["verbosity"]
        actor, jobs = _checked_arguments(paths=paths, jobs=jobs, user=user)
        with ProgressBar(self.stderr, unit="files", verbosity=verbosity) as progress:
            if progress.enabled and "-" not in paths:
                progress.set_total(sum(1 for _ in iter_story_sources(paths)))
            try:
                report = import_stories(
                    iter_story_sources(paths, stdin=sys.stdin.buffer),
                    actor=actor,
                    source_label=" ".join(paths),
                    dry_run=dry_run,
                    overwrite_editorial=overwrite_editorial,
                    on_result=_Reporter(self, progress, verbosity),
                    keep_results=False,
                    jobs=jobs,
                )
            except PermissionDenied as exc:
                raise CommandError(f"{user}: {exc}", returncode=2) from None
            except KeyboardInterrupt:
                progress.close()
                self.stderr.write(
                    "Interrupted. Files imported so far are kept; run the same command again to finish "
                    "(files already imported are recognised as unchanged)."
                )
                sys.exit(130)
            except ImportCrashed as crash:
                progress.close()
                counts = crash.run
                self.stderr.write(
                    f"{crash} So far: created {counts.created}, updated {counts.updated}, unchanged "
                    f"{counts.unchanged}, conflicts {counts.conflicts}, failed {counts.failed}."
                )
                sys.exit(3)
        summary = report.summary()
        if dry_run:
            summary += " (dry run: nothing was written)"
        self.stdout.write(summary)
        if report.counts[ImportOutcome.FAILED.count_key]:
            sys.exit(1)


class _Reporter:
    """Prints what happened to each file as the import goes, above the progress bar.

    Failures always (stderr), conflicts from verbosity 1 (stderr), every other outcome from
    verbosity 2 (stdout).
    """

    def __init__(self, command: BaseCommand, progress: ProgressBar, verbosity: int) -> None:
        self.command = command
        self.progress = progress
        self.verbosity = verbosity

    def __call__(self, result: FileResult) -> None:
        for stream, line in self._lines(result):
            self.progress.write(stream, line)
        self.progress.advance()

    def _lines(self, result: FileResult):
        out, err = self.command.stdout, self.command.stderr
        if result.outcome == ImportOutcome.FAILED:
            yield err, f"{result.path}: {result.reason}"
        elif result.outcome == ImportOutcome.CONFLICT:
            if self.verbosity >= 1 and result.kept:
                yield err, f"{result.path}: conflict: kept the editor's {', '.join(result.kept)}"
            if self.verbosity >= 1 and result.held:
                yield err, (
                    f"{result.path}: conflict: held for a moderator (the story is published): "
                    f"{', '.join(result.held)}"
                )
        elif self.verbosity >= 2:
            yield out, f"{result.path}: {result.outcome}"


def _checked_arguments(*, paths: list[str], jobs: int, user: str | None):
    """The user to import as and the number of processes, or a usage error (exit status 2)."""
    actor = None
    if user is not None:
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"No user named {user!r}.", returncode=2)
    if jobs < 0:
        raise CommandError("--jobs must be 0 (one per CPU) or more", returncode=2)
    missing = [p for p in paths if p != "-" and not os.path.exists(p)]
    if missing:
        raise CommandError(f"{', '.join(missing)}: no such file or directory", returncode=2)
    if paths.count("-") > 1:
        raise CommandError("'-' (standard input) can be given once", returncode=2)
    return actor, jobs or os.cpu_count() or 1
