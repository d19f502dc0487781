"""``manage.py import_stories PATH...``: import story files, directories or standard input."""

from __future__ import annotations

import os
import sys
import time

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from stories.imports.outcomes import FileResult, ImportOutcome
from stories.imports.service import ImportCrashed, import_stories
from stories.imports.sources import iter_story_sources


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

        progress = None
        if verbosity >= 1 and self.stderr.isatty():
            total = None if "-" in paths else sum(1 for _ in iter_story_sources(paths))
            progress = _Progress(self.stderr, total=total)

        def on_result(result: FileResult) -> None:
            failed = result.outcome == ImportOutcome.FAILED
            conflict = result.outcome == ImportOutcome.CONFLICT
            if progress is not None and (failed or conflict or verbosity >= 2):
                progress.clear()
            if failed:
                self.stderr.write(f"{result.path}: {result.reason}")
            elif conflict and verbosity >= 1:
                if result.kept:
                    self.stderr.write(f"{result.path}: conflict: kept the editor's {', '.join(result.kept)}")
                if result.held:
                    self.stderr.write(
                        f"{result.path}: conflict: held for a moderator (the story is published): "
                        f"{', '.join(result.held)}"
                    )
            elif verbosity >= 2:
                self.stdout.write(f"{result.path}: {result.outcome}")
            if progress is not None:
                progress.tick()

        try:
            report = import_stories(
                iter_story_sources(paths, stdin=sys.stdin.buffer),
                actor=actor,
                source_label=" ".join(paths),
                dry_run=dry_run,
                overwrite_editorial=overwrite_editorial,
                on_result=on_result,
                keep_results=False,
                jobs=jobs,
            )
        except PermissionDenied as exc:
            raise CommandError(f"{user}: {exc}", returncode=2) from None
        except KeyboardInterrupt:
            if progress is not None:
                progress.clear()
            self.stderr.write(
                "Interrupted. Files imported so far are kept; run the same command again to finish "
                "(files already imported are recognised as unchanged)."
            )
            sys.exit(130)
        except ImportCrashed as crash:
            if progress is not None:
                progress.clear()
            counts = crash.run
            self.stderr.write(
                f"{crash} So far: created {counts.created}, updated {counts.updated}, unchanged "
                f"{counts.unchanged}, conflicts {counts.conflicts}, failed {counts.failed}."
            )
            sys.exit(3)
        if progress is not None:
            progress.clear()
        summary = report.summary()
        if dry_run:
            summary += " (dry run: nothing was written)"
        self.stdout.write(summary)
        if report.counts["failed"]:
            sys.exit(1)


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


class _Progress:
    """A progress bar on a terminal (only ever created for one), redrawn a few times a second."""

    WIDTH = 30

    def __init__(self, stream, *, total: int | None):
        self.stream = stream
        self.total = total
        self.count = 0
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.shown = False

    def tick(self) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.drawn_at >= 0.1 or self.count == self.total:
            self.drawn_at = now
            self.draw(now)

    def draw(self, now: float) -> None:
        rate = self.count / max(now - self.started, 1e-6)
        if self.total:
            done = min(self.count / self.total, 1.0)
            bar = "#" * int(done * self.WIDTH)
            line = f"[{bar:<{self.WIDTH}}] {self.count}/{self.total} files {done:4.0%}  {rate:,.0f}/s"
        else:
            line = f"{self.count} files  {rate:,.0f}/s"
        self.stream.write("\r" + line + "\x1b[K", ending="")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K", ending="")
            self.stream.flush()
            self.shown = False
