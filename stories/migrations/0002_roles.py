"""The Editors and Moderators groups. Publishing is a separate permission from editing."""

from django.db import migrations

from stories.roles import EDITORS, MODERATORS, ensure_roles


def create_groups(apps, schema_editor):
    ensure_roles(apps)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[EDITORS, MODERATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0001_initial"),
        ("providers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
