"""Trigram indexes for searching providers by part of their name or domain, on PostgreSQL only.

The story admin and the moderation queue look providers up by part of their name
(``Story.objects.containing``), the admin's autocomplete by name or domain. Django
writes ``icontains`` as ``UPPER(column::text) LIKE UPPER(%s)``, so the indexes are on
that expression. The ``pg_trgm`` extension is created here (and left alone on other
databases); ``stories/0015`` depends on this migration for it.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "provider_name_trgm": "UPPER((name)::text)",
    "provider_domain_trgm": "UPPER((domain)::text)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON providers_provider USING gin (({expression}) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("providers", "0003_logo_url_field")]
    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
