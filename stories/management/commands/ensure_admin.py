"""Make sure a newcomer can log into the admin of a fresh local install."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the 'admin' superuser with a random password on first run and print how to log in. "
        "The password is kept in var/admin-password (readable by you only) and never reset."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        password_file = settings.BASE_DIR / "var" / "admin-password"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email="", password=password)
            user.groups.add(*Group.objects.filter(name__in=["Editors", "Moderators"]))
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.touch(mode=0o600)
            password_file.write_text(password + "\n")
        if password_file.exists():
            how = f"password in {password_file}: {password_file.read_text().strip()}"
        else:
            how = "password as you set it (python manage.py changepassword admin to reset)"
        self.stdout.write(f"Log in at http://127.0.0.1:8000/admin/ as '{username}', {how}")
