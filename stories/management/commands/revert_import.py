"""``manage.py revert_import RUN_ID --user USERNAME``: undo one import run."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from stories.imports.undo import RevertError, revert_import_run
from stories.models import ImportRun
from stories.workflow import WorkflowError


class Command(BaseCommand):
    help = (
        "Revert an import run: delete the stories it created (unless someone worked on them since) and "
        "restore the previous source values of the stories it updated. Needs a moderator (--user)."
    )

    def add_arguments(self, parser):
        parser.add_argument("run_id", type=int, metavar="RUN_ID")
        parser.add_argument(
            "--user", required=True, help="Username of the moderator the revert is recorded under."
        )

    def handle(self, *args, run_id: int, user: str, **options):
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"No user named {user!r}.", returncode=2)
        run = ImportRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"No import run #{run_id}.", returncode=2)
        try:
            report = revert_import_run(run, actor=actor)
        except (PermissionDenied, RevertError, WorkflowError) as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"] >= 1:
            for kept in report.kept:
                self.stdout.write(f"kept #{kept.story_id} {kept.title}: {kept.reason}")
            if options["verbosity"] >= 2:
                for pk, title in report.deleted:
                    self.stdout.write(f"deleted #{pk} {title}")
                for pk, title in report.restored:
                    self.stdout.write(f"restored #{pk} {title}")
        self.stdout.write(f"Import #{run.pk} reverted: {report.summary()}")
