"""Import conflicts: the file's proposal is kept, and a moderator accepts or dismisses it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from stories import workflow
from stories.imports.conflicts import ConflictError, accept_conflict, dismiss_conflict, resolve_run
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.models import AuditEntry, ImportRunStory, Revision, State, Story
from stories.workflow import StaleStoryError

from .test_undo import run_import, story_at, story_file

pytestmark = pytest.mark.django_db


def corrected(tmp_path, editor, *, slug="alpha", **file):
    """A story imported, then a person corrects its title and quality."""
    run_import(tmp_path / "v1", {f"{slug}.md": story_file(slug, quality=40, **file)})
    story = story_at(slug)
    workflow.update_editorial(story, actor=editor, quality=70, content={"title": "Corrected by a person"})
    return story_at(slug)


def reimport(tmp_path, slug="alpha", *, actor=None, overwrite=False, **file):
    directory = tmp_path / "v2"
    directory.mkdir(exist_ok=True)
    (directory / f"{slug}.md").write_text(story_file(slug, title="The file's title", quality=60, **file))
    report = import_stories(
        iter_story_sources([str(directory / f"{slug}.md")]), actor=actor, overwrite_editorial=overwrite
    )
    return report.run


def test_a_conflict_keeps_the_story_value_and_the_file_proposal_side_by_side(tmp_path, editor):
    corrected(tmp_path, editor)

    run = reimport(tmp_path)

    entry = ImportRunStory.objects.get(run=run)
    assert entry.resolution == ImportRunStory.Resolution.OPEN
    assert entry.proposed["values"] == {
        "title": ["Corrected by a person", "The file's title"],
        "quality": [70, 60],
    }
    assert entry.conflict_version == story_at("alpha").version
    assert story_at("alpha").title == "Corrected by a person"


def test_overwrite_editorial_still_forces_the_file_and_leaves_no_conflict(tmp_path, editor):
    corrected(tmp_path, editor)

    run = reimport(tmp_path, overwrite=True)

    story = story_at("alpha")
    assert (story.title, story.quality) == ("The file's title", 60)
    assert ImportRunStory.objects.get(run=run).resolution == ""


def test_accepting_applies_the_file_values_audited_as_a_revision_and_follows_the_file_again(
    tmp_path, editor, moderator
):
    corrected(tmp_path, editor)
    run = reimport(tmp_path)
    entry = ImportRunStory.objects.get(run=run)
    version = story_at("alpha").version

    accept_conflict(entry, actor=moderator)

    story = story_at("alpha")
    assert (story.title, story.quality, story.version) == ("The file's title", 60, version + 1)
    assert not {"title", "quality"} & set(story.editor_touched)
    entry.refresh_from_db()
    assert (entry.resolution, entry.resolved_by) == ("accepted", moderator)
    edits = AuditEntry.objects.filter(story=story, actor=moderator, import_run=run)
    assert {(e.field, e.before, e.after) for e in edits} == {
        ("title", "Corrected by a person", "The file's title"),
        ("quality", 70, 60),
    }
    revision = Revision.objects.get(story=story, author=moderator)
    assert revision.import_run == run and revision.data["quality"] == 60
    assert workflow.revisions.record_revision(story, actor=moderator) is None  # nothing left to record


def test_dismissing_keeps_the_story_values_and_is_audited(tmp_path, editor, moderator):
    corrected(tmp_path, editor)
    run = reimport(tmp_path)
    entry = ImportRunStory.objects.get(run=run)
    version = story_at("alpha").version

    dismiss_conflict(entry, actor=moderator)

    story = story_at("alpha")
    assert (story.title, story.quality, story.version) == ("Corrected by a person", 70, version)
    entry.refresh_from_db()
    assert entry.resolution == "dismissed" and entry.resolved_at is not None
    assert AuditEntry.objects.filter(story=story, actor=moderator, comment__startswith="Dismissed").exists()
    with pytest.raises(ConflictError, match="dismissed already"):
        accept_conflict(entry, actor=moderator)


def test_a_conflict_whose_story_changed_since_is_refused_as_stale(tmp_path, editor, moderator):
    corrected(tmp_path, editor)
    entry = ImportRunStory.objects.get(run=reimport(tmp_path))
    workflow.update_editorial(story_at("alpha"), actor=editor, heat=5)

    with pytest.raises(StaleStoryError, match="changed by someone else"):
        accept_conflict(entry, actor=moderator)

    entry.refresh_from_db()
    assert entry.resolution == "open"
    assert story_at("alpha").title == "Corrected by a person"


def test_only_moderators_answer_conflicts(tmp_path, editor):
    corrected(tmp_path, editor)
    entry = ImportRunStory.objects.get(run=reimport(tmp_path))

    with pytest.raises(PermissionDenied):
        accept_conflict(entry, actor=editor)
    with pytest.raises(PermissionDenied):
        dismiss_conflict(entry, actor=editor)

    entry.refresh_from_db()
    assert entry.resolution == "open"


def test_a_held_value_of_a_published_story_is_applied_when_a_moderator_accepts_it(
    tmp_path, editor, moderator
):
    run_import(tmp_path / "v1", {"alpha.md": story_file("alpha", published=True)})
    assert story_at("alpha").state == State.PUBLISHED

    run = reimport(tmp_path, actor=editor, published=True)
    entry = ImportRunStory.objects.get(run=run)
    assert "title" in entry.held and entry.proposed["values"]["title"] == ["Alpha", "The file's title"]
    assert story_at("alpha").title == "Alpha"

    accept_conflict(entry, actor=moderator)

    assert story_at("alpha").title == "The file's title"
    assert story_at("alpha").state == State.PUBLISHED


def test_accepting_a_published_flag_moves_the_story_through_the_workflow(tmp_path, moderator):
    run_import(tmp_path / "v1", {"alpha.md": story_file("alpha", published=False)})
    story = story_at("alpha")
    workflow.transition(story, action=workflow.REJECT, actor=moderator, comment="Not for us.")
    run = reimport(tmp_path, published=True)
    entry = ImportRunStory.objects.get(run=run)
    assert entry.proposed["values"]["published"] == [False, True]

    accept_conflict(entry, actor=moderator)

    assert story_at("alpha").state == State.PUBLISHED
    assert AuditEntry.objects.filter(story=story, action=AuditEntry.Action.PUBLISH, actor=moderator).exists()


def test_a_run_conflicts_are_accepted_or_dismissed_in_bulk_and_a_stale_one_is_reported(
    tmp_path, editor, moderator
):
    for slug in ("alpha", "beta", "gamma"):
        corrected(tmp_path / slug, editor, slug=slug)
    directory = tmp_path / "v2"
    directory.mkdir()
    for slug in ("alpha", "beta", "gamma"):
        (directory / f"{slug}.md").write_text(story_file(slug, title=f"File {slug}", quality=60))
    run = import_stories(iter_story_sources([str(directory)])).run
    assert run.conflicts == 3
    workflow.update_editorial(story_at("gamma"), actor=editor, heat=1)

    result = resolve_run(run, actor=moderator, accept=True)

    assert result.done == 2
    assert [(entry.story_id, "changed by someone else" in message) for entry, message in result.refused] == [
        (story_at("gamma").pk, True)
    ]
    titles = sorted(Story.objects.values_list("title", flat=True))
    assert titles == ["Corrected by a person", "File alpha", "File beta"]
    assert resolve_run(run, actor=moderator, accept=False).done == 1
    assert not ImportRunStory.objects.filter(run=run, resolution="open").exists()
