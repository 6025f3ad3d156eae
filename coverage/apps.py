from django.apps import AppConfig


class CoverageConfig(AppConfig):
    """How stories are covered, for readers to audit: the methodology, blindspots, balance over time."""

    name = "coverage"
    verbose_name = "Coverage"
