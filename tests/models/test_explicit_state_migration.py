"""Migration 0010 moves the import's state out of the formatting JSON into columns, and back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("stories", "0009_explicit_import_state")
AFTER = ("stories", "0010_move_hidden_state")

FILE_LAYOUT = {"keys": ["title", "published"], "blank_before": [], "published": True, "seen": ["a" * 64]}
NULL_FLAG_LAYOUT = {"keys": ["title", "published"], "blank_before": [], "published": None}
NO_FLAG_LAYOUT = {"keys": ["title"], "blank_before": []}
FETCHED = {"sizes": [], "origin": "fetched", "source_url": "https://img.example/a.jpg"}
UPLOADED = {"sizes": [], "origin": "upload", "source_url": "https://site.example/media/b.jpg"}


def migrate_to(target) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    # A fresh executor sees the state the database is in now.
    return MigrationExecutor(connection)


@pytest.fixture
def at_0009(transactional_db):
    executor = migrate_to(BEFORE)
    yield executor.loader.project_state([BEFORE]).apps
    migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes("stories")[0])


def make_rows(apps):
    Provider = apps.get_model("providers", "Provider")
    Story = apps.get_model("stories", "Story")
    Image = apps.get_model("stories", "Image")
    provider = Provider.objects.create(name="Example", domain="example.com")
    stories = {}
    for name, layout in (("file", FILE_LAYOUT), ("null", NULL_FLAG_LAYOUT), ("none", NO_FLAG_LAYOUT)):
        stories[name] = Story.objects.create(
            identity_key=name.ljust(64, "0"), title=name, provider=provider, layout=layout
        )
    images = {
        name: Image.objects.create(story=stories["file"], url="https://img.example/a.jpg", thumbnails=thumbs)
        for name, thumbs in (("fetched", FETCHED), ("uploaded", UPLOADED), ("plain", {}))
    }
    return {name: s.pk for name, s in stories.items()}, {name: i.pk for name, i in images.items()}


def test_the_migration_moves_the_files_flag_the_superseded_hashes_and_the_images_origin(at_0009):
    story_ids, image_ids = make_rows(at_0009)

    apps = migrate_to(AFTER).loader.project_state([AFTER]).apps

    Story, Image = apps.get_model("stories", "Story"), apps.get_model("stories", "Image")
    stories = {name: Story.objects.get(pk=pk) for name, pk in story_ids.items()}
    assert (stories["file"].file_published, stories["file"].superseded_hashes) == (True, ["a" * 64])
    assert stories["file"].layout == {"keys": ["title", "published"], "blank_before": []}
    assert (stories["null"].file_published, stories["null"].layout) == (
        None,
        {"keys": ["title", "published"], "blank_before": []},
    )
    assert (stories["none"].file_published, stories["none"].superseded_hashes) == (None, [])
    images = {name: Image.objects.get(pk=pk) for name, pk in image_ids.items()}
    assert (images["fetched"].origin, images["fetched"].source_url) == ("fetched", FETCHED["source_url"])
    assert (images["uploaded"].origin, images["uploaded"].source_url) == ("upload", UPLOADED["source_url"])
    assert images["fetched"].thumbnails == images["uploaded"].thumbnails == {"sizes": []}
    assert (images["plain"].origin, images["plain"].source_url, images["plain"].thumbnails) == ("", "", {})


def test_reversing_the_migration_puts_every_value_back_where_it_was(at_0009):
    story_ids, image_ids = make_rows(at_0009)
    migrate_to(AFTER)

    apps = migrate_to(BEFORE).loader.project_state([BEFORE]).apps

    Story, Image = apps.get_model("stories", "Story"), apps.get_model("stories", "Image")
    layouts = {name: Story.objects.get(pk=pk).layout for name, pk in story_ids.items()}
    assert layouts == {"file": FILE_LAYOUT, "null": NULL_FLAG_LAYOUT, "none": NO_FLAG_LAYOUT}
    thumbnails = {name: Image.objects.get(pk=pk).thumbnails for name, pk in image_ids.items()}
    assert thumbnails == {"fetched": FETCHED, "uploaded": UPLOADED, "plain": {}}
