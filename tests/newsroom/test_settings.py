from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from newsroom.settings import database_from_url, env, env_limit

ROOT = Path(__file__).resolve().parents[2]


def start_up(**variables: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process, as the server would, with these variables."""
    return subprocess.run(
        [sys.executable, "-c", "import newsroom.settings"],
        cwd=ROOT, env={**os.environ, "DEBUG": "1", **variables}, capture_output=True, text=True, check=False,
    )


# --- DATABASE_URL ------------------------------------------------------------------------


def test_sqlite_url_is_relative_to_the_project():
    db = database_from_url("sqlite:///var/x.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == ROOT / "var" / "x.sqlite3"


def test_sqlite_url_with_four_slashes_is_an_absolute_path():
    assert database_from_url("sqlite:////srv/newsroom/db.sqlite3")["NAME"] == Path("/srv/newsroom/db.sqlite3")


def test_sqlite_waits_for_a_writer_and_takes_the_write_lock_when_a_transaction_begins():
    assert database_from_url("sqlite:///var/x.sqlite3")["OPTIONS"] == {
        "timeout": 20, "transaction_mode": "IMMEDIATE"
    }


def test_sqlite_url_options_override_the_defaults():
    assert database_from_url("sqlite:///var/x.sqlite3?timeout=5")["OPTIONS"] == {
        "timeout": 5, "transaction_mode": "IMMEDIATE"
    }


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://:memory:"])
def test_sqlite_url_without_a_file_fails_loudly(url):
    with pytest.raises(ImproperlyConfigured, match="SQLite needs a file path"):
        database_from_url(url)


def test_postgres_url_gives_every_part():
    db = database_from_url("postgres://u:p%40ss@db.example:5433/news")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u", "p@ss", "db.example", "5433", "news"
    )
    assert db["CONN_MAX_AGE"] == 60
    assert "OPTIONS" not in db


def test_postgresql_scheme_is_the_same_as_postgres():
    assert database_from_url("postgresql://db.example/news") == database_from_url("postgres://db.example/news")


def test_postgres_url_hands_its_query_options_to_the_driver():
    db = database_from_url("postgres://u@db.example/news?sslmode=verify-full&connect_timeout=5")
    assert db["OPTIONS"] == {"sslmode": "verify-full", "connect_timeout": 5}


def test_connection_lifetime_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "0")
    assert database_from_url("postgres://db.example/news")["CONN_MAX_AGE"] == 0


def test_postgres_url_without_a_database_name_fails_loudly():
    with pytest.raises(ImproperlyConfigured, match="needs a database name"):
        database_from_url("postgres://u@db.example/")


@pytest.mark.parametrize("url", ["mysql://x/y", "db.sqlite3", "redis://127.0.0.1:6379/0"])
def test_unknown_database_scheme_fails_loudly(url):
    with pytest.raises(ImproperlyConfigured, match="is not supported"):
        database_from_url(url)


@pytest.mark.parametrize("url", ["postgres://u:secret@db.example:port/news", "postgres://u:se[cret@db/news"])
def test_malformed_database_url_fails_loudly_without_repeating_the_password(url):
    with pytest.raises(ImproperlyConfigured, match="not a valid URL") as error:
        database_from_url(url)
    assert "secret" not in str(error.value)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="connects to PostgreSQL")
def test_a_real_postgres_connection_uses_the_options_of_the_url(db):
    current = connection.settings_dict
    url = (
        f"postgres://{current['USER']}@{current['HOST']}:{current['PORT'] or 5432}/{current['NAME']}"
        "?application_name=newsroom-settings-check&connect_timeout=5"
    )
    wrapper = DatabaseWrapper({**current, **database_from_url(url)})
    with psycopg.connect(**wrapper.get_connection_params()) as probe:
        assert probe.execute("SHOW application_name").fetchone() == ("newsroom-settings-check",)


# --- values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("Yes", True), (" on ", True), ("0", False), ("FALSE", False),
     ("no", False), ("off", False)],
)
def test_booleans_read_the_usual_words(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env.bool("SOME_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["maybe", "ok", "y", "2", "tru"])
def test_bad_boolean_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("SOME_FLAG", raw)
    message = rf"SOME_FLAG must be a boolean \(true/false\), got '{raw}'"
    with pytest.raises(ImproperlyConfigured, match=message):
        env.bool("SOME_FLAG", False)


@pytest.mark.parametrize("raw", ["ten", "1O", "1.5", "1,000"])
def test_bad_integer_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("SOME_COUNT", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_COUNT must be an integer"):
        env.int("SOME_COUNT", 3)


@pytest.mark.parametrize("raw", ["soon", "1O", "2,5"])
def test_bad_number_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("SOME_TIMEOUT", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_TIMEOUT must be a number"):
        env.float("SOME_TIMEOUT", 1.0)


def test_an_empty_variable_counts_as_unset(monkeypatch):
    for name in ("SOME_FLAG", "SOME_COUNT", "SOME_TEXT", "SOME_LIST"):
        monkeypatch.setenv(name, " ")
    assert env.bool("SOME_FLAG", True) is True
    assert env.int("SOME_COUNT", 3) == 3
    assert env.str("SOME_TEXT", "fallback") == "fallback"
    assert env.list("SOME_LIST", default=["a"]) == ["a"]


def test_a_value_that_begins_with_a_dollar_is_taken_as_written(monkeypatch):
    monkeypatch.setenv("EMAIL_HOST_PASSWORD", "$ecret")
    monkeypatch.setenv("ecret", "some other variable")
    assert env.str("EMAIL_HOST_PASSWORD", "") == "$ecret"


def test_lists_are_comma_separated_and_trimmed(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " news.example , www.news.example,,")
    assert env.list("ALLOWED_HOSTS", default=[]) == ["news.example", "www.news.example"]


def test_a_limit_below_one_fails_loudly(monkeypatch):
    monkeypatch.setenv("SOME_LIMIT", "0")
    with pytest.raises(ImproperlyConfigured, match="SOME_LIMIT must be at least 1, got 0"):
        env_limit("SOME_LIMIT", 5)
    monkeypatch.setenv("SOME_LIMIT", "7")
    assert env_limit("SOME_LIMIT", 5) == 7


# --- start-up ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean (true/false), got 'maybe'"),
        ({"NEWSROOM_UPLOAD_MAX_FILES": "lots"}, "NEWSROOM_UPLOAD_MAX_FILES must be an integer, got 'lots'"),
        ({"NEWSROOM_LOGIN_FAILURE_LIMIT": "0"}, "NEWSROOM_LOGIN_FAILURE_LIMIT must be at least 1, got 0"),
        ({"NEWSROOM_LOGIN_COOLOFF_MINUTES": "-5"},
         "NEWSROOM_LOGIN_COOLOFF_MINUTES must be at least 1, got -5"),
        ({"DATABASE_URL": "mysql://db.example/news"}, "DATABASE_URL scheme 'mysql' is not supported"),
        ({"DEBUG": "0", "SECRET_KEY": ""}, "SECRET_KEY must be set when DEBUG is off"),
        ({"NEWSROOM_SEARCH_CANDIDATES": "50000"},
         "NEWSROOM_SEARCH_CANDIDATES must be at most 10000, got 50000"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variables, message):
    result = start_up(**variables)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr


def test_every_setting_has_its_default_when_the_environment_says_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", (
            "import newsroom.settings as s; print(s.DEBUG, s.ALLOWED_HOSTS, s.NEWSROOM_MAX_TOPICS_PER_STORY, "
            "s.NEWSROOM_IMAGE_TIMEOUT, s.NEWSROOM_IMAGE_WIDTHS, s.AXES_FAILURE_LIMIT, s.EMAIL_PORT, "
            "s.SECURE_SSL_REDIRECT, s.DATABASES['default']['OPTIONS'])"
        )],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={
            "PATH": os.environ.get("PATH", ""), "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"
        },
    )
    assert result.stdout.strip() == (
        "True ['localhost', '127.0.0.1', '[::1]'] 50 10.0 [320, 640, 1024] 5 25 False "
        "{'timeout': 20, 'transaction_mode': 'IMMEDIATE'}"
    )
