"""``manage.py revert_import RUN_ID --user USERNAME [--dry-run]``: undo one import run, or show
what undoing it would do."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from stories.imports.revert_plan import RevertPlan
from stories.imports.undo import RevertError, may_revert, plan_revert, revert_import_run
from stories.models import ImportRun
from stories.workflow import WorkflowError


class Command(BaseCommand):
    help = (
        "Revert an import run: delete the stories it created (unless someone worked on them since) and "
        "restore the revision from before the run of the stories it updated (unless a person changed them "
        "since). Needs a moderator (--user). --dry-run shows what it would do and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("run_id", type=int, metavar="RUN_ID")
        parser.add_argument(
            "--user", required=True, help="Username of the moderator the revert is recorded under."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what reverting would delete, restore and keep; change nothing.",
        )

    def handle(self, *args, run_id: int, user: str, **options):
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"No user named {user!r}.", returncode=2)
        run = ImportRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"No import run #{run_id}.", returncode=2)
        if options["dry_run"]:
            return self._preview(run, actor)
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

    def _preview(self, run: ImportRun, actor) -> None:
        if not may_revert(actor):
            raise CommandError("You do not have permission to revert import runs.")
        try:
            plan = plan_revert(run)
        except RevertError as exc:
            raise CommandError(str(exc)) from None
        self._print_plan(plan)

    def _print_plan(self, plan: RevertPlan) -> None:
        for step in plan.steps:
            reason = f": {step.reason}" if step.reason else ""
            self.stdout.write(f"would {step.action} #{step.story_id} {step.title}{reason}")
        self.stdout.write(
            f"Import #{plan.run.pk} would be reverted (dry run, nothing changed): {plan.summary()}"
        )
