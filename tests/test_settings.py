from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from newsroom.settings import database_from_url, env_bool


def test_sqlite_url_is_relative_to_the_project():
    db = database_from_url("sqlite:///var/x.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert str(db["NAME"]).endswith("var/x.sqlite3")


def test_postgres_url_gives_every_part():
    db = database_from_url("postgres://u:p%40ss@db.example:5433/news")
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u", "p@ss", "db.example", "5433", "news"
    )


def test_unknown_database_scheme_fails_loudly():
    with pytest.raises(ImproperlyConfigured):
        database_from_url("mysql://x/y")


def test_bad_boolean_fails_loudly(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured):
        env_bool("SOME_FLAG", False)
