"""Make sure a newcomer can log into the admin of a fresh local install."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import connection

from newsroom.localfiles import create_private_file, private_directory

HEADER = "# Newsroom admin password for user {username!r} (joined {joined}) of database {database}\n"


def database_identity() -> str:
    """The database this command works on, as a person would name it (never its password)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:{Path(db['NAME']).resolve()}"
    user, host, port = db.get("USER") or "", db.get("HOST") or "", db.get("PORT") or ""
    return f"{connection.vendor}://{user}@{host}:{port}/{db['NAME']}"


def password_file_stem(identity: str) -> str:
    """A file name per database: readable, and unique by a digest of the whole identity."""
    name = identity.rstrip("/").rsplit("/", 1)[-1]
    readable = re.sub(r"[^A-Za-z0-9]+", "-", f"{connection.vendor}-{name}").strip("-").lower()
    return f"admin-password-{readable}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"


class Command(BaseCommand):
    help = (
        "Create the 'admin' superuser with a random password on first run and say how to log in. "
        "The password goes to a new file in var/ (readable by you only) made for this database and "
        "this admin; no file is ever overwritten. It is printed only when the admin is created and "
        "standard output is a terminal."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        folder = private_directory(Path(settings.VAR_DIR))
        identity = database_identity()
        stem = password_file_stem(identity)
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        login = f"Log in at http://127.0.0.1:8000/admin/ as '{username}'"
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email="", password=password)
            user.groups.add(*Group.objects.filter(name__in=["Editors", "Moderators"]))
            path = self.write_new_file(folder, stem, self.header(user, identity) + password + "\n")
            if self.stdout.isatty():
                self.stdout.write(f"{login} with password {password} (also kept in {path})")
            else:
                self.stdout.write(f"{login}; the password is in {path}")
            return
        path = self.find_file(folder, stem, header=self.header(user, identity))
        if path is not None:
            self.stdout.write(f"{login}; the password is in {path}")
        else:
            self.stdout.write(
                f"{login} with the password you set (python manage.py changepassword {username} to reset it)"
            )

    @staticmethod
    def header(user, identity: str) -> str:
        """Binds a file to one admin (name and moment of creation) of one database."""
        joined = user.date_joined.isoformat()
        return HEADER.format(username=user.get_username(), joined=joined, database=identity)

    @staticmethod
    def write_new_file(folder: Path, stem: str, text: str) -> Path:
        """The first free name of ``stem``, ``stem.2``, ``stem.3``…: an earlier file stays as it is."""
        number = 1
        while True:
            path = folder / (stem if number == 1 else f"{stem}.{number}")
            if create_private_file(path, text):
                return path
            number += 1

    @staticmethod
    def find_file(folder: Path, stem: str, *, header: str) -> Path | None:
        """The file written for this very admin of this database, if it is still there."""
        for path in sorted(folder.glob(f"{stem}*")):
            try:
                with path.open(encoding="utf-8") as handle:
                    if handle.readline() == header:
                        return path
            except (OSError, UnicodeDecodeError):
                continue
        return None
