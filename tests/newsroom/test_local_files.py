"""Local files (var/) are readable by their owner only; an admin password file is never overwritten."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from newsroom.localfiles import create_private_file, make_private, private_directory

pytestmark = pytest.mark.django_db


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def ensure_admin(stdout=None) -> str:
    out = stdout if stdout is not None else io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_a_new_admin_gets_a_private_password_file_and_output_that_points_at_it(var_dir):
    output = ensure_admin()

    files = list(var_dir.glob("admin-password-*"))
    assert len(files) == 1
    password = files[0].read_text().splitlines()[-1]
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert password not in output
    assert str(files[0]) in output
    assert mode(var_dir) == 0o700
    assert mode(files[0]) == 0o600


def test_the_password_is_printed_only_on_a_terminal_and_only_when_the_admin_is_created(var_dir):
    first = ensure_admin(Terminal())
    password = next(var_dir.glob("admin-password-*")).read_text().splitlines()[-1]
    again = ensure_admin(Terminal())

    assert password in first
    assert password not in again
    assert "the password is in" in again


def test_a_password_file_of_another_database_is_never_touched(var_dir):
    var_dir.mkdir(mode=0o700)
    other = var_dir / "admin-password-postgresql-news-0123abcd"
    other.write_text("# Newsroom admin password for user 'admin' of database postgresql://@db:5432/news\nsecret\n")
    legacy = var_dir / "admin-password"
    legacy.write_text("old-secret\n")

    output = ensure_admin()

    assert other.read_text().endswith("secret\n") and "old-secret" not in other.read_text()
    assert legacy.read_text() == "old-secret\n"
    assert "secret" not in output
    assert len(list(var_dir.glob("admin-password-*"))) == 2


def test_an_admin_made_again_for_the_same_database_gets_a_new_file_and_the_old_one_stays(var_dir):
    ensure_admin()
    first = next(var_dir.glob("admin-password-*"))
    first_text = first.read_text()
    get_user_model().objects.filter(username="admin").delete()

    output = ensure_admin()

    assert first.read_text() == first_text
    files = sorted(var_dir.glob("admin-password-*"))
    assert len(files) == 2
    newest = next(path for path in files if path != first)
    assert str(newest) in output
    password = newest.read_text().splitlines()[-1]
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_an_existing_admin_without_its_file_is_told_to_use_its_own_password(var_dir, django_user_model):
    django_user_model.objects.create_superuser("admin", password="chosen-by-me")

    output = ensure_admin(Terminal())

    assert "the password you set" in output
    assert "chosen-by-me" not in output
    assert not list(var_dir.glob("admin-password-*"))


def test_private_directory_tightens_an_old_world_readable_one(tmp_path):
    folder = tmp_path / "var"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)

    private_directory(folder)

    assert mode(folder) == 0o700


def test_a_private_file_is_created_once_and_never_overwritten(tmp_path):
    path = tmp_path / "secret"

    assert create_private_file(path, "first")
    assert not create_private_file(path, "second")
    assert path.read_text() == "first"
    assert mode(path) == 0o600
    path.chmod(0o644)
    make_private(path)
    assert mode(path) == 0o600


def test_starting_up_makes_var_its_secret_key_and_its_sqlite_database_private():
    var = django_settings.VAR_DIR
    database = var / "permissions-check.sqlite3"
    var.chmod(0o755)
    (var / "dev-secret-key").chmod(0o644)
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": "sqlite:///var/permissions-check.sqlite3"}
    env.pop("SECRET_KEY", None)
    try:
        subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            cwd=django_settings.BASE_DIR, env={**env, "DJANGO_SETTINGS_MODULE": "newsroom.settings"},
            check=True, timeout=60,
        )
        assert mode(var) == 0o700
        assert mode(var / "dev-secret-key") == 0o600
        assert mode(database) == 0o600
    finally:
        database.unlink(missing_ok=True)
        var.chmod(0o700)
