from django.apps import AppConfig


class NewsappConfig(AppConfig):
    """The project itself, installed as an app only for what must be in place before any request."""

    name = "newsapp"
    verbose_name = "newsapp"

    def ready(self):
        from . import content_type

        content_type.install()
