"""Undoing an import run with revisions: the revision before the run comes back, unless a person
made a newer one; a preview says what will happen before anything does."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from stories import workflow
from stories.imports import service
from stories.imports.revert_plan import DELETE, KEEP, RESTORE, plan_revert
from stories.imports.sources import iter_story_sources
from stories.imports.undo import RevertError, revert_import_run
from stories.models import AuditEntry, ImportRunStory, Revision, Story
from stories.workflow.revisions import record_revision

from .test_undo import run_import, story_at, story_file

pytestmark = pytest.mark.django_db


def imported_twice(tmp_path, *, importer=None):
    """Alpha imported, then changed by a second run, which keeps a revision of it."""
    first = run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="Old excerpt.", quality=40)})
    assert Revision.objects.filter(import_run=first).count() == 1
    directory = tmp_path / "v2"
    directory.mkdir()
    (directory / "a.md").write_text(story_file("alpha", excerpt="New excerpt.", quality=60))
    run = service.import_stories(iter_story_sources([str(directory / "a.md")]), actor=importer).run
    assert Revision.objects.filter(import_run=run).count() == 1
    # The revision is what undo restores now; the run's old record of the story is not needed.
    ImportRunStory.objects.filter(run=run).update(previous=None)
    return run


def test_undo_restores_the_revision_before_the_run_as_a_new_revision(tmp_path, moderator):
    run = imported_twice(tmp_path)

    report = revert_import_run(run, actor=moderator)

    story = story_at("alpha")
    assert [pk for pk, _ in report.restored] == [story.pk]
    assert (story.excerpt, story.quality) == ("Old excerpt.", 40)
    newest = Revision.objects.filter(story=story).first()
    # An undo's revision names the run in its reason; only the import's own revisions belong to it.
    assert (newest.author, newest.import_run) == (moderator, None)
    assert f"Import #{run.pk}." in newest.reason
    assert (
        newest.data
        == Revision.objects.get(story=story, import_run__isnull=False, id=newest.based_on.based_on_id).data
    )


def test_a_file_import_a_person_ran_is_not_their_own_change(tmp_path, editor, moderator):
    run = imported_twice(tmp_path, importer=editor)

    report = revert_import_run(run, actor=moderator)

    assert len(report.restored) == 1 and not report.kept
    assert story_at("alpha").excerpt == "Old excerpt."


def test_undo_keeps_a_story_a_person_corrected_in_a_newer_revision_and_says_why(tmp_path, editor, moderator):
    run = imported_twice(tmp_path)
    story = story_at("alpha")
    workflow.update_editorial(
        story, actor=editor, content={"title": "Alpha, as a person put it"}, comment="A better title."
    )
    revision = Revision.objects.filter(story=story).first()
    assert (revision.author, revision.reason) == (editor, "A better title.")

    report = revert_import_run(run, actor=moderator)

    assert [(kept.story_id, kept.reason) for kept in report.kept] == [
        (story.pk, f"edna (revision #{revision.pk}) corrected title since")
    ]
    story = story_at("alpha")
    assert (story.title, story.excerpt) == ("Alpha, as a person put it", "New excerpt.")
    assert AuditEntry.objects.filter(
        story=story, action="import_undo", comment__contains="corrected title"
    ).exists()


def test_undo_puts_the_source_back_and_keeps_editorial_values_a_person_set_in_a_newer_revision(
    tmp_path, editor, moderator
):
    run = imported_twice(tmp_path)
    story = story_at("alpha")
    workflow.update_editorial(story, actor=editor, quality=99)
    record_revision(story, actor=editor)
    AuditEntry.objects.filter(actor=editor).delete()  # the revision alone says what the person did

    report = revert_import_run(run, actor=moderator)

    assert len(report.restored) == 1
    story = story_at("alpha")
    assert (story.excerpt, story.quality, story.heat) == ("Old excerpt.", 99, 40)
    assert "quality" in story.editor_touched


def test_undo_keeps_a_created_story_a_person_made_a_revision_of(tmp_path, editor, moderator):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha"), "b.md": story_file("beta")})
    alpha = story_at("alpha")
    record_revision(alpha, actor=None, import_run=run)
    record_revision(
        alpha, actor=editor, data={**Revision.objects.get(story=alpha).data, "heat": 3}, draft=True
    )

    report = revert_import_run(run, actor=moderator)

    assert [(kept.story_id, "edna made revision" in kept.reason) for kept in report.kept] == [
        (alpha.pk, True)
    ]
    assert list(Story.objects.values_list("pk", flat=True)) == [alpha.pk]


def test_the_plan_lists_deletes_restores_and_keeps_with_reasons_and_writes_nothing(
    tmp_path, editor, moderator
):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="Old."), "c.md": story_file("gamma")})
    run = run_import(
        tmp_path / "v2",
        {
            "a.md": story_file("alpha", excerpt="New."),
            "b.md": story_file("beta"),
            "c.md": story_file("gamma", excerpt="Changed."),
        },
    )
    workflow.update_editorial(story_at("gamma"), actor=editor, content={"title": "Gamma by a person"})
    counts = (Story.objects.count(), AuditEntry.objects.count(), Revision.objects.count())

    plan = plan_revert(run)

    assert {(step.action, step.title) for step in plan.steps} == {
        (RESTORE, "Alpha"),
        (DELETE, "Beta"),
        (KEEP, "Gamma by a person"),
    }
    by_person = Revision.objects.get(story=story_at("gamma"), author=editor)
    assert plan.of(KEEP)[0].reason == f"edna (revision #{by_person.pk}) corrected title since"
    assert plan.summary() == "delete 1, restore 1, keep 1"
    assert (Story.objects.count(), AuditEntry.objects.count(), Revision.objects.count()) == counts
    assert story_at("alpha").excerpt == "New."


def test_a_revert_whose_plan_changed_since_the_preview_is_refused(tmp_path, editor, moderator):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})
    seen = plan_revert(run).fingerprint()
    workflow.update_editorial(story_at("alpha"), actor=editor, quality=1)

    with pytest.raises(RevertError, match="changed since the preview"):
        revert_import_run(run, actor=moderator, expected=seen)

    assert Story.objects.count() == 1
    revert_import_run(run, actor=moderator, expected=plan_revert(run).fingerprint())


def test_revert_import_dry_run_prints_the_plan_and_changes_nothing(tmp_path, moderator, capsys):
    run_import(tmp_path / "v1", {"a.md": story_file("alpha", excerpt="Old.")})
    run = run_import(
        tmp_path / "v2", {"a.md": story_file("alpha", excerpt="New."), "b.md": story_file("beta")}
    )

    call_command("revert_import", str(run.pk), "--user", moderator.username, "--dry-run")

    out = capsys.readouterr().out
    assert f"would restore #{story_at('alpha').pk} Alpha" in out
    assert f"would delete #{story_at('beta').pk} Beta" in out
    assert out.strip().endswith("delete 1, restore 1, keep 0")
    assert Story.objects.count() == 2 and story_at("alpha").excerpt == "New."
    run.refresh_from_db()
    assert run.status == "finished"


def test_revert_import_dry_run_refuses_an_editor(tmp_path, editor):
    run = run_import(tmp_path / "one", {"a.md": story_file("alpha")})

    with pytest.raises(CommandError, match="permission"):
        call_command("revert_import", str(run.pk), "--user", editor.username, "--dry-run")
