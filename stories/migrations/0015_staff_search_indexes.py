"""Indexes for the admin and the moderation queue, so that neither scans the story table.

- ``story_type``: the filters' type list walks it (``stories.models.story_types``).
- ``story_unreadable``: a partial index of the rows whose dates Python cannot hold
  (normally none), named on every admin and queue page.
- PostgreSQL only: trigram indexes for the staff text search (``Story.objects.containing``;
  Django writes ``icontains`` as ``UPPER(column::text) LIKE UPPER(%s)``, hence the
  expression), and the queue's orders (``stories.moderation.filters.MODERATION_ORDERINGS``:
  nulls last, the id as tie-breaker; "oldest" reads the newest index backwards). SQLite
  cannot place nulls in an index.
"""

import datetime

from django.db import migrations, models

# Frozen copies of the expressions at the time of this migration; tests/admin/test_scale.py
# checks on PostgreSQL that the admin's search uses them.
TRIGRAM_INDEXES = {
    "story_title_trgm": "gin ((UPPER((title)::text)) gin_trgm_ops)",
    "story_excerpt_trgm": "gin ((UPPER(excerpt)) gin_trgm_ops)",
}
QUEUE_INDEXES = {
    "story_queue_newest": "(state, published_at DESC NULLS LAST, id DESC)",
    "story_queue_quality": "(state, quality DESC NULLS LAST, published_at DESC NULLS LAST, id DESC)",
    "story_queue_heat": "(state, heat DESC NULLS LAST, published_at DESC NULLS LAST, id DESC)",
}
EARLIEST = datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
LATEST = datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in TRIGRAM_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON stories_story USING {definition}")
    for name, columns in QUEUE_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON stories_story {columns}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in (*TRIGRAM_INDEXES, *QUEUE_INDEXES):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0004_provider_trigram_indexes"),
        ("stories", "0014_search_vectors"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="story",
            index=models.Index(fields=["type"], name="story_type"),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                condition=models.Q(
                    ("published_at__lt", EARLIEST),
                    ("published_at__gt", LATEST),
                    ("go_live_at__lt", EARLIEST),
                    ("go_live_at__gt", LATEST),
                    ("expire_at__lt", EARLIEST),
                    ("expire_at__gt", LATEST),
                    _connector="OR",
                ),
                fields=["id"],
                name="story_unreadable",
            ),
        ),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
