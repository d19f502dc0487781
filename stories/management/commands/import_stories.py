"""``manage.py import_stories PATH...``: import story files, directories or standard input."""

from __future__ import annotations

import contextlib
import os
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from stories.import_runs import parallel_sources
from stories.importing import FileResult, ImportCrashed, import_stories, iter_story_sources
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
        actor = None
        if user is not None:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user named {user!r}.", returncode=2)
        if jobs < 0:
            raise CommandError("--jobs must be 0 (one per CPU) or more", returncode=2)
        jobs = jobs or os.cpu_count() or 1
        missing = [p for p in paths if p != "-" and not os.path.exists(p)]
        if missing:
            raise CommandError(f"{', '.join(missing)}: no such file or directory", returncode=2)
        if paths.count("-") > 1:
            raise CommandError("'-' (standard input) can be given once", returncode=2)

        progress = ProgressBar(self.stderr, unit="files", verbosity=verbosity)
        if progress.enabled and "-" not in paths:
            progress.set_total(sum(1 for _ in iter_story_sources(paths)))

        def on_result(result: FileResult) -> None:
            if result.outcome == "failed":
                progress.write(self.stderr, f"{result.path}: {result.reason}")
            elif result.outcome == "conflict" and verbosity >= 1:
                kept = [name for name in result.conflicts if name not in result.held]
                if kept:
                    progress.write(
                        self.stderr, f"{result.path}: conflict: kept the editor's {', '.join(kept)}"
                    )
                if result.held:
                    progress.write(
                        self.stderr,
                        f"{result.path}: conflict: held for a moderator (the story is published): "
                        f"{', '.join(result.held)}",
                    )
            elif verbosity >= 2:
                progress.write(self.stdout, f"{result.path}: {result.outcome}")
            progress.advance()

        sources = parallel_sources(iter_story_sources(paths, stdin=sys.stdin.buffer), jobs=jobs)
        try:
            with contextlib.closing(sources):
                report = import_stories(
                    sources,
                    actor=actor,
                    source_label=" ".join(paths),
                    dry_run=dry_run,
                    overwrite_editorial=overwrite_editorial,
                    on_result=on_result,
                    keep_results=False,
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
        finally:
            progress.close()
        summary = report.summary()
        if dry_run:
            summary += " (dry run: nothing was written)"
        self.stdout.write(summary)
        if report.counts["failed"]:
            sys.exit(1)

