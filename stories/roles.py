"""The two editorial roles and what each may do.

Editors edit content and submit it; Moderators may also publish. Publishing is
a separate permission (``stories.publish_story``) from editing.
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions

EDITORS = "Editors"
MODERATORS = "Moderators"

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


def ensure_roles(apps) -> None:
    """Create (or complete) both groups. ``apps`` is a migration's app registry or the global one."""
    for app_config in apps.get_app_configs():
        # Migration app registries hold stubs without models_module, which
        # create_permissions needs to be truthy.
        had_models_module = getattr(app_config, "models_module", None)
        app_config.models_module = had_models_module or True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = had_models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ((EDITORS, EDITOR_PERMISSIONS), (MODERATORS, MODERATOR_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in wanted
            )
        )
