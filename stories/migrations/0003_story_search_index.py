"""GIN index for reader search, on PostgreSQL only (see stories/reader/search.py).

An expression index rather than a stored column: the vector is derived from
title and excerpt alone, so there is nothing to keep in sync on write, and the
model (and SQLite) stay untouched.
"""

from django.db import migrations

# Frozen copy of stories.reader.search.INDEX_EXPRESSION at the time of this migration;
# tests/test_search.py checks that reader queries use this index.
INDEX_NAME = "story_search_vector_gin"
INDEX_EXPRESSION = (
    "(setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(excerpt, '')), 'B'))"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON stories_story USING gin ({INDEX_EXPRESSION})"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):
    dependencies = [("stories", "0002_roles")]
    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
