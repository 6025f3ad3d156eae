"""Editors see the sign-in lockouts (django-axes' access attempts) and clear them; Writers get none."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"
PERMISSIONS = ("view_accessattempt", "delete_accessattempt")


def _permissions(apps):
    # Permissions are normally made after all migrations run; make axes' now so the group can use them.
    app_config = apps.get_app_config("axes")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="axes", codename__in=PERMISSIONS)
    if permissions.count() != len(PERMISSIONS):
        raise RuntimeError(f"missing axes permissions: {PERMISSIONS}")
    return permissions


def grant(apps, schema_editor):
    editors, _ = apps.get_model("auth", "Group").objects.get_or_create(name=EDITORS)
    editors.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    editors = apps.get_model("auth", "Group").objects.filter(name=EDITORS).first()
    if editors is not None:
        editors.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0003_newsroom_groups"),
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
