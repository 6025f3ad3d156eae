from django.apps import AppConfig


class NewsdeskConfig(AppConfig):
    """The newsdesk: outlets' feeds gathered into pieces, pieces grouped into story candidates,
    summaries drafted, and a candidate turned into a draft story through articles' one save path."""

    name = "newsdesk"
    verbose_name = "Newsdesk"
