from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Newsroom"

    def ready(self):
        # signals: the page-cache invalidation; revisions: the models django-reversion records.
        from . import revisions, signals  # noqa: F401
