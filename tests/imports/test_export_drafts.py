"""Export writes a story's latest revision (its pending draft) by default and what readers see
with ``--live``; both give back a file nobody edited byte for byte."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from stories.imports.export import draft_text, export_story, stories_for_export
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.models import Revision, Story
from stories.snapshots import snapshot_of
from stories.workflow.drafts import edit
from tests.imports.test_import_command import story_file, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(tmp_path):
    source = tmp_path / "in"
    write(source, "a.md", story_file("alpha", published=True, related=True))
    import_stories(iter_story_sources([str(source)]))
    return (source / "a.md").read_bytes(), Story.objects.get()


def exported(tmp_path, *flags: str) -> bytes:
    out = tmp_path / ("out" + "".join(flags))
    call_command("export_stories", "--out", str(out), *flags, verbosity=0)
    (path,) = out.iterdir()
    return path.read_bytes()


def test_the_import_revision_of_a_story_nobody_edited_exports_as_its_file(imported):
    original, story = imported
    (revision,) = Revision.objects.filter(story=story)

    assert revision.import_run_id is not None
    assert revision.data == snapshot_of(stories_for_export().get())
    assert draft_text(revision).encode() == original


def test_export_writes_the_pending_draft_and_live_writes_what_readers_see(tmp_path, imported, editor):
    original, story = imported
    edit(story, actor=editor, content={"title": "Alpha, corrected"}, quality=91)

    latest, live = exported(tmp_path), exported(tmp_path, "--live")

    assert live == original
    assert b'title: "Alpha, corrected"' in latest
    assert b"quality: 91" in latest
    assert latest.replace(b"Alpha, corrected", b"Alpha").replace(b"quality: 91", b"quality: 10") == original


def test_both_exports_are_the_file_for_a_story_nobody_edited(tmp_path, imported):
    original, _ = imported
    assert exported(tmp_path) == exported(tmp_path, "--live") == original


def test_export_reads_drafts_in_a_fixed_number_of_queries(django_assert_max_num_queries, imported, editor):
    _, story = imported
    edit(story, actor=editor, content={"title": "Alpha, corrected"})
    assert Revision.objects.filter(is_draft=True).count() == 1
    with django_assert_max_num_queries(6):
        texts = [export_story(s) for s in stories_for_export()]
    assert "Alpha, corrected" in texts[0]
