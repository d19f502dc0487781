"""Round trip: every shipped and every real story file, imported then exported, gives the
same data back (same keys in the same order, same values and types, same list order),
and byte for byte the same text."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from stories import workflow
from stories.imports.export import export_story, stories_for_export
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.models import State, Story
from stories.storyfile import identity_key_for, parse_story
from tests.conftest import make_story, make_topic
from tests.imports.test_import_command import story_file, write

pytestmark = pytest.mark.django_db

SEEDS = Path(settings.BASE_DIR) / "seeds"
REALDATA = Path(settings.BASE_DIR).parent / "shared" / "realdata"
FRONT = re.compile(r"\A---\r?\n(.*?)^---[ \t]*\r?$", re.S | re.M)


def typed(value):
    """Plain YAML data with every scalar tagged by its type; mappings as ordered pairs."""
    if isinstance(value, dict):
        return [(key, typed(v)) for key, v in value.items()]
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, dt.datetime):
        return ("datetime", value.isoformat())
    return (type(value).__name__, value)


def data_of(text: str):
    """What a plain YAML reader sees in a story file, independent of stories.storyfile."""
    front = FRONT.match(text).group(1)
    return typed(yaml.load(front, Loader=yaml.CSafeLoader))  # noqa: S506 - CSafeLoader is the safe loader


def distinct_files(*roots: Path) -> list[Path]:
    seen: set[str] = set()
    files = []
    for root in roots:
        for source in iter_story_sources([str(root)]):
            path = Path(source.path)
            if "api" in path.relative_to(root).parts:
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                files.append(path)
    return files


def batches_of_distinct_stories(files: list[Path]) -> list[list[Path]]:
    """Files grouped so that no batch holds two versions of one story."""
    batches: list[tuple[set[str], list[Path]]] = []
    for path in files:
        key = identity_key_for(parse_story(path.read_bytes()))
        batch = next((b for b in batches if key not in b[0]), None)
        if batch is None:
            batch = (set(), [])
            batches.append(batch)
        batch[0].add(key)
        batch[1].append(path)
    return [paths for _, paths in batches]


def round_trip(files: list[Path]) -> tuple[list[str], int]:
    """Import each batch of distinct stories (rolled back afterwards) and export every story;
    returns the mismatches and the number of byte-identical exports."""
    mismatches: list[str] = []
    identical = 0
    for batch in batches_of_distinct_stories(files):
        with transaction.atomic():
            report = import_stories(iter_story_sources([str(p) for p in batch]))
            assert report.counts["created"] == len(batch), [r.reason for r in report.failures]
            stories = stories_for_export().in_bulk([r.story_id for r in report.results])
            exported = {r.path: export_story(stories[r.story_id]) for r in report.results}
            transaction.set_rollback(True)
        for path in batch:
            original = path.read_bytes()
            if data_of(exported[str(path)]) != data_of(original.decode("utf-8")):
                mismatches.append(f"{path}: data differs")
            elif exported[str(path)].encode("utf-8") == original:
                identical += 1
            else:
                mismatches.append(f"{path}: same data, different text")
    return mismatches, identical


def test_every_seed_file_round_trips_exactly():
    files = distinct_files(SEEDS)
    assert len(files) > 500

    mismatches, identical = round_trip(files)

    assert mismatches == []
    assert identical == len(files)


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not present beside this checkout")
def test_every_real_story_file_round_trips_exactly():
    files = distinct_files(REALDATA)
    assert any("_history" in str(f) for f in files) and any("related" in str(f) for f in files)

    mismatches, identical = round_trip(files)

    assert mismatches == []
    assert identical == len(files)


def test_story_made_outside_a_file_exports_to_a_file_that_imports_back_as_itself(tmp_path):
    topic = make_topic("Robots")
    story = make_story(title="Made by hand", topics=[topic], related=2)
    text = export_story(stories_for_export().get(pk=story.pk))
    record = parse_story(text.encode("utf-8"))
    assert (record.title, record.topics, len(record.related)) == ("Made by hand", ("Robots",), 2)
    assert record.published is True
    story.identity_key = identity_key_for(record)
    story.save(update_fields=["identity_key"])
    write(tmp_path, "hand.md", text)

    report = import_stories(iter_story_sources([str(tmp_path)]))

    assert report.counts["updated"] + report.counts["unchanged"] == 1
    assert Story.objects.count() == 1
    assert export_story(stories_for_export().get(pk=story.pk)) == text


def test_export_shows_current_editorial_values(tmp_path, editor, moderator):
    write(tmp_path, "a.md", story_file("alpha", quality=10, published=True))
    import_stories(iter_story_sources([str(tmp_path)]))
    story = Story.objects.get()
    workflow.update_editorial(story, actor=editor, quality=77)
    workflow.transition(story, action=workflow.UNPUBLISH, actor=moderator, comment="Hold.")

    text = export_story(stories_for_export().get())

    assert "quality: 77\n" in text
    assert "published: false\n" in text


def test_export_command_writes_one_named_file_per_story(tmp_path):
    source = tmp_path / "in"
    write(source, "a.md", story_file("alpha", published=True))
    write(source, "b.md", story_file("beta", published=False))
    import_stories(iter_story_sources([str(source)]))
    out = tmp_path / "out"

    call_command("export_stories", "--out", str(out), verbosity=0)

    names = sorted(p.name for p in out.iterdir())
    keys = {s.title: s.identity_key[:8] for s in Story.objects.all()}
    assert names == sorted([f"2021-03-04-alpha-{keys['Alpha']}.md", f"2021-03-04-beta-{keys['Beta']}.md"])
    assert (out / names[0]).read_bytes() in {(source / "a.md").read_bytes(), (source / "b.md").read_bytes()}


def test_export_command_published_only(tmp_path):
    source = tmp_path / "in"
    write(source, "a.md", story_file("alpha", published=True))
    write(source, "b.md", story_file("beta", published=False))
    import_stories(iter_story_sources([str(source)]))
    out = tmp_path / "out"

    call_command("export_stories", "--out", str(out), "--published-only", verbosity=0)

    assert [p.name.split("-")[3] for p in out.iterdir()] == ["alpha"]
    assert Story.objects.get(title="Beta").state == State.IN_REVIEW


def test_exported_files_import_back_as_unchanged(tmp_path):
    source = tmp_path / "in"
    for n in range(3):
        write(source, f"{n}.md", story_file(f"story-{n}", related=True))
    import_stories(iter_story_sources([str(source)]))
    out = tmp_path / "out"
    call_command("export_stories", "--out", str(out), verbosity=0)

    report = import_stories(iter_story_sources([str(out)]))

    assert report.counts["unchanged"] == 3
