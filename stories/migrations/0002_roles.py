"""The Editors and Moderators groups. Publishing is a separate permission from editing."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_PERMISSIONS = [
    ("stories", "view_story"),
    ("stories", "change_story"),
    ("stories", "submit_story"),
    ("stories", "import_stories"),
    ("stories", "view_topic"),
    ("stories", "add_topic"),
    ("stories", "change_topic"),
    ("stories", "view_relatedlink"),
    ("stories", "change_relatedlink"),
    ("stories", "view_image"),
    ("stories", "change_image"),
    ("stories", "view_auditentry"),
    ("stories", "view_importrun"),
    ("providers", "view_provider"),
]
MODERATOR_PERMISSIONS = EDITOR_PERMISSIONS + [
    ("stories", "publish_story"),
    ("stories", "delete_topic"),
    ("stories", "change_importrun"),
    ("providers", "change_provider"),
]


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in (("Editors", EDITOR_PERMISSIONS), ("Moderators", MODERATOR_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Editors", "Moderators"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0001_initial"),
        ("providers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
