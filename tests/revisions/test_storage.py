"""How revisions are stored: on PostgreSQL their data is compressed with lz4 where the server has it."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="TOAST compression is PostgreSQL's"),
]


def test_revision_data_is_compressed_with_lz4_when_the_server_supports_it():
    with connection.cursor() as cursor:
        cursor.execute("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        methods = cursor.fetchone()[0]
        cursor.execute(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'stories_revision'::regclass AND attname = 'data'"
        )
        compression = cursor.fetchone()[0]
    assert compression == ("l" if "lz4" in methods else "")
