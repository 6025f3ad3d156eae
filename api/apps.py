from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The open data: a read-only JSON API under /api/v1/ and bulk downloads."""

    name = "api"
    verbose_name = "Open data API"
