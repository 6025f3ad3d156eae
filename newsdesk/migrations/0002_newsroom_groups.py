"""The newsroom's two roles on the newsdesk. Both work the story desk (view candidates, change them:
draft a story, merge, split, dismiss) and read pieces and summaries; Editors look after the feeds,
as they do the outlets, and Writers see them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"
WRITERS = "Writers"
DESK = {"candidate": ("view", "change"), "piece": ("view",), "summary": ("view",)}
GRANTS = {
    EDITORS: {**DESK, "feed": ("add", "change", "delete", "view")},
    WRITERS: {**DESK, "feed": ("view",)},
}


def _permissions(apps, spec):
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"{action}_{model}" for model, actions in spec.items() for action in actions]
    permissions = Permission.objects.filter(content_type__app_label="newsdesk", codename__in=codenames)
    if permissions.count() != len(codenames):
        raise RuntimeError(f"missing newsdesk permissions: {sorted(codenames)}")
    return permissions


def grant(apps, schema_editor):
    # Permissions are normally made after all migrations run; make the newsdesk's now.
    app_config = apps.get_app_config("newsdesk")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, spec in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, spec))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, spec in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*_permissions(apps, spec))


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0001_initial"),
        ("articles", "0003_newsroom_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
