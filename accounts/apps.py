from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in security"


class NewsroomAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the two-factor step in front of it (see accounts.admin_site)."""

    default = False  # listed by its full path in INSTALLED_APPS; "accounts" alone means AccountsConfig
    default_site = "accounts.admin_site.NewsroomAdminSite"
