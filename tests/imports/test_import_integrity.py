"""Import integrity: a value the database cannot hold fails its file only; a crash is recorded as
such; every field a person changed survives a re-import; topics cost a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from stories import workflow
from stories.imports.service import ImportCrashed, import_stories
from stories.imports.sources import StorySource, iter_story_sources
from stories.models import AuditEntry, ImportRun, ImportRunStory, State, Story, Topic
from stories.storyfile import identity_key_for, parse_story
from tests.browser_forms import form_data
from tests.imports.test_import_command import story_file, write

pytestmark = pytest.mark.django_db


def run_import(*paths, **kwargs):
    return import_stories(iter_story_sources([str(p) for p in paths]), **kwargs)


class HandMadeSource(StorySource):
    """A file whose record is changed after parsing: a value the parser lets through today."""

    def __init__(self, path: Path, **values):
        data = path.read_bytes()
        super().__init__(path=str(path), opener=lambda: data)
        object.__setattr__(self, "values", values)

    def parse(self, data):
        record = replace(parse_story(data, path=self.path), **self.values)
        return record, identity_key_for(record)


def sources(tmp_path: Path, bad: dict, *, bad_name: str = "b.md") -> list[StorySource]:
    return [
        HandMadeSource(tmp_path / name, **(bad if name == bad_name else {}))
        for name in ("a.md", "b.md", "c.md")
    ]


UNSTORABLE = {"quality": 2**64}  # over any integer column; SQLite's driver raises OverflowError


# --- A value the database cannot hold ------------------------------------------------------------


def test_an_unstorable_value_fails_its_file_and_the_rest_of_the_chunk_imports(tmp_path):
    for slug, name in (("alpha", "a.md"), ("beta", "b.md"), ("gamma", "c.md")):
        write(tmp_path, name, story_file(slug))

    report = import_stories(sources(tmp_path, UNSTORABLE))

    assert report.counts["created"] == 2 and report.counts["failed"] == 1
    failure = report.failures[0]
    assert failure.path.endswith("b.md") and "refused the story" in failure.reason
    assert sorted(Story.objects.values_list("title", flat=True)) == ["Alpha", "Gamma"]
    run = ImportRun.objects.get()
    assert (run.status, run.created, run.failed) == (ImportRun.Status.FINISHED, 2, 1)
    assert run.failures[0]["path"].endswith("b.md")


def test_an_unstorable_value_in_an_update_keeps_the_previous_version(tmp_path):
    for slug, name in (("alpha", "a.md"), ("beta", "b.md"), ("gamma", "c.md")):
        write(tmp_path, name, story_file(slug, excerpt="Old."))
    run_import(tmp_path)
    for slug, name in (("alpha", "a.md"), ("beta", "b.md"), ("gamma", "c.md")):
        write(tmp_path, name, story_file(slug, excerpt="New."))

    report = import_stories(sources(tmp_path, UNSTORABLE))

    assert report.counts["updated"] == 2 and report.counts["failed"] == 1
    beta = Story.objects.get(title="Beta")
    assert (beta.excerpt, beta.quality, beta.version) == ("Old.", 10, 1)
    assert Story.objects.get(title="Gamma").excerpt == "New."


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL stores year 10000; the story format refuses it"
)
def test_a_date_out_of_range_in_utc_fails_its_file_on_sqlite(tmp_path):
    for slug, name in (("alpha", "a.md"), ("beta", "b.md"), ("gamma", "c.md")):
        write(tmp_path, name, story_file(slug))
    late = dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-2)))

    report = import_stories(sources(tmp_path, {"published_at": late}))

    assert report.counts["created"] == 2 and report.counts["failed"] == 1
    assert "OverflowError" in report.failures[0].reason


# --- A run that crashes anyway --------------------------------------------------------------------


class CrashingSource(StorySource):
    """A file whose parsing fails in a way no story file can make it fail."""

    def parse(self, data):
        raise RuntimeError("disk on fire")


def test_a_crashed_run_is_recorded_with_the_counts_of_the_chunks_it_committed(tmp_path):
    for slug, name in (("alpha", "a.md"), ("beta", "b.md"), ("gamma", "c.md")):
        write(tmp_path, name, story_file(slug))
    sources = [*iter_story_sources([str(tmp_path / "a.md"), str(tmp_path / "b.md")])]
    sources.append(CrashingSource(path=str(tmp_path / "c.md"), opener=(tmp_path / "c.md").read_bytes))

    with pytest.raises(ImportCrashed) as crash:
        import_stories(sources, chunk_files=1)

    run = ImportRun.objects.get()
    assert f"Import #{run.pk} crashed: RuntimeError: disk on fire" in str(crash.value)
    assert (run.status, run.created, run.failed) == (ImportRun.Status.CRASHED, 2, 0)
    assert run.error == "RuntimeError: disk on fire"
    assert run.finished_at is not None
    assert Story.objects.count() == 2


@pytest.fixture
def refuse_run_entries_of_c(db):
    """A database trigger that refuses to record c.md in a run: a real error outside any one file."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_c() RETURNS trigger AS $$ BEGIN "
                "IF NEW.path LIKE '%c.md' THEN "
                "RAISE EXCEPTION 'run entry refused' USING ERRCODE = 'check_violation'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_c BEFORE INSERT ON stories_importrunstory "
                "FOR EACH ROW EXECUTE FUNCTION refuse_c()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_c BEFORE INSERT ON stories_importrunstory "
                "WHEN NEW.path LIKE '%c.md' BEGIN SELECT RAISE(ABORT, 'run entry refused'); END"
            )


def test_the_command_says_a_run_crashed_and_exits_with_3(tmp_path, cli, refuse_run_entries_of_c):
    for slug, name in (("alpha", "a.md"), ("beta", "b.md"), ("gamma", "c.md")):
        write(tmp_path, name, story_file(slug))

    code, out, err = cli("import_stories", str(tmp_path))

    assert code == 3
    run = ImportRun.objects.get()
    assert f"Import #{run.pk} crashed: IntegrityError: run entry refused" in err
    assert "So far: created 0, updated 0, unchanged 0, conflicts 0, failed 0." in err
    assert run.status == ImportRun.Status.CRASHED
    assert run.error.startswith("IntegrityError: run entry refused")
    assert not Story.objects.exists()  # the chunk the error stopped was rolled back whole


# --- Every field a person changed is an editorial decision ---------------------------------------


def test_reimport_keeps_an_editors_title_and_reports_the_conflict(tmp_path, editor, cli):
    write(tmp_path, "a.md", story_file("alpha", title="Wrong title", published=False))
    run_import(tmp_path)
    story = Story.objects.get()
    workflow.update_editorial(story, actor=editor, content={"title": "Right title"})
    write(tmp_path, "a.md", story_file("alpha", title="Wrong title", excerpt="New.", published=False))

    code, out, err = cli("import_stories", str(tmp_path))

    story.refresh_from_db()
    assert code == 0
    assert (story.title, story.excerpt) == ("Right title", "New.")
    assert "conflict: kept the editor's title" in err
    assert ImportRunStory.objects.get(outcome="conflict").conflicts == ["title"]
    assert story.editor_touched == ["title"]


def test_overwrite_editorial_lets_the_files_title_win(tmp_path, editor, cli):
    write(tmp_path, "a.md", story_file("alpha", title="File title", published=False))
    run_import(tmp_path)
    workflow.update_editorial(Story.objects.get(), actor=editor, content={"title": "Editor title"})

    code, out, err = cli("import_stories", "--overwrite-editorial", str(tmp_path))

    story = Story.objects.get()
    assert code == 0 and "conflict" not in err
    assert story.title == "File title" and story.editor_touched == []


def test_reimport_keeps_an_editors_related_link_correction(tmp_path, editor_client):
    write(tmp_path, "a.md", story_file("alpha", related=True, published=False))
    run_import(tmp_path)
    story = Story.objects.get()
    change = reverse("admin:stories_story_change", args=[story.pk])
    page = editor_client.get(change).content.decode()
    editor_client.post(
        change, form_data(page, "story_form", **{"related_links-0-title": "Corrected coverage title"})
    )
    write(tmp_path, "a.md", story_file("alpha", related=True, published=False, excerpt="New."))

    report = run_import(tmp_path)

    assert report.results[0].conflicts == ["related"]
    story.refresh_from_db()
    assert story.excerpt == "New."
    assert list(story.related_links.values_list("title", flat=True)) == ["Corrected coverage title"]


def test_a_story_with_a_persons_change_is_reparsed_and_an_unchanged_file_is_no_conflict(tmp_path, editor):
    write(tmp_path, "a.md", story_file("alpha", published=False))
    run_import(tmp_path)
    workflow.update_editorial(Story.objects.get(), actor=editor, content={"excerpt": "Editor's excerpt."})

    report = run_import(tmp_path)

    assert report.results[0].outcome == "conflict"
    assert report.results[0].conflicts == ["excerpt"]
    assert Story.objects.get().excerpt == "Editor's excerpt."


# --- Topics in bulk -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 20])
def test_new_topics_on_an_update_cost_a_fixed_number_of_queries(
    tmp_path, count, django_assert_max_num_queries
):
    write(tmp_path, "a.md", story_file("alpha", topics=("AI",), published=False))
    run_import(tmp_path)
    topics = tuple(f"New topic {n}" for n in range(count))
    write(tmp_path, "a.md", story_file("alpha", topics=topics, published=False))

    with django_assert_max_num_queries(30):
        report = run_import(tmp_path)

    assert report.counts["updated"] == 1
    assert list(Story.objects.get().story_topics.values_list("topic__name", flat=True)) == list(topics)
    assert Topic.objects.count() == count + 1


def test_a_published_flip_by_the_command_is_still_audited_as_the_system(tmp_path):
    write(tmp_path, "a.md", story_file("alpha", published=True))
    run_import(tmp_path)
    write(tmp_path, "a.md", story_file("alpha", published=False))

    report = run_import(tmp_path)

    entry = AuditEntry.objects.get(import_run=report.run, field="state")
    assert (entry.actor, Story.objects.get().state) == (None, State.IN_REVIEW)


def test_the_run_page_shows_why_a_run_crashed(moderator_client):
    run = ImportRun.objects.create(status=ImportRun.Status.CRASHED, error="RuntimeError: disk on fire")

    body = moderator_client.get(reverse("admin:stories_importrun_change", args=[run.pk])).content.decode()

    assert "Crashed" in body and "RuntimeError: disk on fire" in body
