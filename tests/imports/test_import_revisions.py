"""Imports keep one revision per story they create or change, linked to the run; unchanged files none."""

from __future__ import annotations

import pytest
from django.conf import settings

from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.imports.undo import revert_import_run
from stories.models import Revision, State, Story
from stories.records import stories_with_rows
from stories.snapshots import snapshot_of
from stories.workflow.revisions import BASELINE_REASON
from tests.imports.test_undo import run_import, story_at, story_file

pytestmark = pytest.mark.django_db

FILES = {
    f"{slug}.md": story_file(slug, related=2 if slug == "gamma" else 0) for slug in ("alpha", "beta", "gamma")
}


def snapshot(story) -> dict:
    return snapshot_of(stories_with_rows().get(pk=story.pk))


def test_a_three_file_import_keeps_three_first_revisions_linked_to_the_run(tmp_path):
    run = run_import(tmp_path / "in", FILES)
    revisions = list(Revision.objects.order_by("id"))
    assert len(revisions) == 3
    for revision in revisions:
        assert revision.import_run == run and revision.author is None and revision.based_on is None
        assert revision.reason == f"Created by import #{run.pk}"
        # Written from the files without reading the rows back, yet what the rows hold.
        assert revision.data == snapshot(revision.story)


@pytest.mark.parametrize("jobs", [1, 2])
def test_first_revisions_of_every_seed_are_what_the_rows_hold(jobs):
    """Written in bulk from the parsed files (with parse workers or without), each story's
    newest revision is the story whole, as its rows read back give it."""
    seeds = settings.BASE_DIR / "seeds"
    report = import_stories(iter_story_sources([str(seeds)]), jobs=jobs)
    assert report.counts["failed"] == 0 and report.counts["created"] > 600
    # Some seed files are newer versions of others: those stories have a second revision.
    assert Revision.objects.count() == report.counts["created"] + report.counts["updated"]
    for story in Story.objects.all():
        assert story.revisions.order_by("-id")[0].data == snapshot(story), story.identity_key


def test_an_unchanged_reimport_keeps_no_revision_and_a_changed_file_one(tmp_path):
    run_import(tmp_path / "in", FILES)
    run_import(tmp_path / "in", FILES)
    assert Revision.objects.count() == 3

    changed = dict(
        FILES, **{"beta.md": story_file("beta", excerpt="Second version.", topics=("AI", "AI", "ML"))}
    )
    run = run_import(tmp_path / "in", changed)
    revision = Revision.objects.exclude(reason__startswith="Created").get()
    beta = story_at("beta")
    assert (revision.story, revision.import_run, revision.reason) == (beta, run, f"Import #{run.pk}")
    assert revision.based_on == Revision.objects.get(story=beta, reason__startswith="Created")
    assert revision.data == snapshot(beta)
    assert revision.data["record"]["excerpt"] == "Second version."


def test_a_person_who_imports_is_the_author(tmp_path, moderator):
    from stories.imports.service import import_stories
    from stories.imports.sources import iter_story_sources

    (tmp_path / "a.md").write_text(story_file("alpha", published=True), encoding="utf-8")
    report = import_stories(iter_story_sources([str(tmp_path / "a.md")]), actor=moderator)
    revision = Revision.objects.get()
    assert revision.author == moderator and revision.import_run == report.run
    assert revision.data["state"] == State.PUBLISHED == snapshot(story_at("alpha"))["state"]


def test_an_import_into_a_story_without_revisions_keeps_a_baseline_first(tmp_path):
    run_import(tmp_path / "in", FILES)
    alpha = story_at("alpha")
    before = snapshot(alpha)
    Revision.objects.all().delete()  # as a story from before revisions were kept

    run_import(tmp_path / "in", dict(FILES, **{"alpha.md": story_file("alpha", excerpt="Second version.")}))

    baseline, change = Revision.objects.filter(story=alpha).order_by("id")
    assert (baseline.reason, baseline.data, baseline.import_run) == (BASELINE_REASON, before, None)
    assert change.based_on == baseline and change.data == snapshot(alpha)


def test_undoing_an_import_is_a_revision_by_the_moderator_that_names_the_run(tmp_path, moderator):
    run_import(tmp_path / "in", FILES)
    run = run_import(
        tmp_path / "in", dict(FILES, **{"alpha.md": story_file("alpha", excerpt="Second version.")})
    )
    alpha = story_at("alpha")
    first = Revision.objects.filter(story=alpha).order_by("id").first()

    revert_import_run(run, actor=moderator)

    restored = Revision.objects.filter(story=alpha).order_by("id").last()
    assert restored.author == moderator and restored.import_run is None
    assert restored.reason == f"Restored by undoing an import. Import #{run.pk}."
    assert restored.data == snapshot(alpha)
    assert restored.data["record"] == first.data["record"]


def test_a_spreadsheet_row_keeps_revisions_by_the_person_linked_to_its_run(moderator, settings, tmp_path):
    from stories.models import ImportRun
    from tests.conftest import make_story
    from tests.imports.test_spreadsheet import export_csv, row_errors, set_cell
    from tests.imports.test_spreadsheet import run_import as import_sheet

    settings.NEWSROOM_SPREADSHEET_DIR = tmp_path / "sheets"
    story, unchanged = make_story(quality=40, state=State.IN_REVIEW), make_story(state=State.IN_REVIEW)
    dataset = export_csv(story, unchanged)
    set_cell(dataset, 0, "quality", "85")
    set_cell(dataset, 0, "state", "published")

    result = import_sheet(dataset, moderator)

    assert not result.has_errors() and not result.has_validation_errors(), row_errors(result)
    run = ImportRun.objects.get(via=ImportRun.Via.SPREADSHEET)
    baseline, edited, published = Revision.objects.filter(story=story).order_by("id")
    assert baseline.reason == BASELINE_REASON and baseline.data["quality"] == 40
    assert (edited.author, edited.import_run, edited.data["quality"]) == (moderator, run, 85)
    assert (published.reason, published.import_run, published.data) == ("Published", run, snapshot(story))
    assert not Revision.objects.filter(story=unchanged).exists()
