"""Stored search text for reader search (see stories/reader/search.py), one form per database.

PostgreSQL: a ``search_vector`` tsvector column kept by triggers (title weighted A, excerpt B,
English configuration; recomputed only when the title or excerpt changes), with a GIN index; the
expression index of 0003 goes. Triggers rather than a generated column: PostgreSQL refuses to
change the type of a column a generated column reads, so a later change of ``title``'s length
would fail.

SQLite: an FTS5 table (porter stemming) holding each story's title and excerpt under the
story's id, kept by triggers. The triggers drop the two control characters search highlighting
uses as markers. Django rebuilds a SQLite table to alter it, which drops its triggers:
``stories.reader.search.ensure_sqlite_search`` puts them back after every migrate.

Neither is known to the models: the column and the table exist for the database alone, so every
write (the ORM, bulk_create, COPY, raw SQL) keeps them current.
"""

from django.db import migrations

PG_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, COALESCE({row}title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE({row}excerpt, '')), 'B')"
)
PG_FORWARD = [
    "DROP INDEX IF EXISTS story_search_vector_gin",
    "ALTER TABLE stories_story ADD COLUMN search_vector tsvector",
    f"""
    CREATE FUNCTION stories_story_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := {PG_VECTOR.format(row="NEW.")};
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER stories_story_search_vector_insert BEFORE INSERT ON stories_story
    FOR EACH ROW EXECUTE FUNCTION stories_story_search_vector()
    """,
    """
    CREATE TRIGGER stories_story_search_vector_update BEFORE UPDATE OF title, excerpt ON stories_story
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.excerpt IS DISTINCT FROM NEW.excerpt)
    EXECUTE FUNCTION stories_story_search_vector()
    """,
    f"UPDATE stories_story SET search_vector = {PG_VECTOR.format(row='')}",
    "CREATE INDEX story_search_stored_gin ON stories_story USING gin (search_vector)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS story_search_stored_gin",
    "DROP TRIGGER IF EXISTS stories_story_search_vector_insert ON stories_story",
    "DROP TRIGGER IF EXISTS stories_story_search_vector_update ON stories_story",
    "DROP FUNCTION IF EXISTS stories_story_search_vector()",
    "ALTER TABLE stories_story DROP COLUMN IF EXISTS search_vector",
    "CREATE INDEX IF NOT EXISTS story_search_vector_gin ON stories_story USING gin ("
    "(setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(excerpt, '')), 'B')))",
]

# A frozen copy of stories.reader.search.FTS_TRIGGERS at the time of this migration.
SQLITE_TRIGGERS = {
    "stories_story_fts_insert": """AFTER INSERT ON stories_story BEGIN
        INSERT INTO stories_story_fts (rowid, title, excerpt) VALUES (new.id,
            replace(replace(new.title, char(2), ''), char(3), ''),
            replace(replace(new.excerpt, char(2), ''), char(3), ''));
    END""",
    "stories_story_fts_update": """AFTER UPDATE OF id, title, excerpt ON stories_story
    WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.excerpt IS NOT new.excerpt BEGIN
        DELETE FROM stories_story_fts WHERE rowid = old.id;
        INSERT INTO stories_story_fts (rowid, title, excerpt) VALUES (new.id,
            replace(replace(new.title, char(2), ''), char(3), ''),
            replace(replace(new.excerpt, char(2), ''), char(3), ''));
    END""",
    "stories_story_fts_delete": """AFTER DELETE ON stories_story BEGIN
        DELETE FROM stories_story_fts WHERE rowid = old.id;
    END""",
}
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE stories_story_fts USING fts5(title, excerpt, tokenize = 'porter unicode61')",
    *(f"CREATE TRIGGER {name} {definition}" for name, definition in SQLITE_TRIGGERS.items()),
    """INSERT INTO stories_story_fts (rowid, title, excerpt) SELECT id,
    replace(replace(title, char(2), ''), char(3), ''), replace(replace(excerpt, char(2), ''), char(3), '')
    FROM stories_story""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS stories_story_fts_insert",
    "DROP TRIGGER IF EXISTS stories_story_fts_update",
    "DROP TRIGGER IF EXISTS stories_story_fts_delete",
    "DROP TABLE IF EXISTS stories_story_fts",
]


def run(statements_by_vendor):
    def apply(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("stories", "0013_listing_indexes")]
    operations = [
        migrations.RunPython(
            run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
            elidable=False,
        )
    ]
