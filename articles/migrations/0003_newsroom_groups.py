"""The two newsroom roles. Editors publish; Writers create and edit drafts but never publish."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"
WRITERS = "Writers"

ALL = ("add", "change", "delete", "view")
EDITOR_PERMS = {
    "article": (*ALL, "publish"),
    "articlesource": ALL,
    "biasrating": ALL,
    "source": ALL,
    "category": ("change", "view"),
}
WRITER_PERMS = {
    "article": ("add", "change", "view"),
    "articlesource": ALL,
    "biasrating": ALL,
    "source": ("view",),
    "category": ("view",),
}


def _codename(model, action):
    return "publish_article" if action == "publish" else f"{action}_{model}"


def create_groups(apps, schema_editor):
    # Permissions are normally made after all migrations run; make them now so the groups can use them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, spec in ((EDITORS, EDITOR_PERMS), (WRITERS, WRITER_PERMS)):
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [_codename(model, action) for model, actions in spec.items() for action in actions]
        perms = Permission.objects.filter(content_type__app_label="articles", codename__in=codenames)
        if perms.count() != len(codenames):
            raise RuntimeError(
                f"missing permissions for {name}: {sorted(set(codenames) - set(perms.values_list('codename', flat=True)))}"
            )
        group.permissions.set(perms)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[EDITORS, WRITERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0002_sections"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
