from django.apps import AppConfig


class NewsdeskConfig(AppConfig):
    """The newsdesk: outlets' feeds gathered into pieces, pieces grouped into story candidates,
    summaries drafted, and a candidate turned into a draft story through articles' one save path."""

    name = "newsdesk"
    verbose_name = "Newsdesk"

    def ready(self):
        from django.db.models.signals import post_save

        from articles.transfer import outlet_fields
        from newsdesk import checks, tasks, transfer  # noqa: F401 - checks registers itself
        from newsdesk.models import Feed

        # An outlet's "feeds" in the import format: articles' import calls the newsdesk through
        # this registration, never by importing it (newsdesk -> articles, one way).
        outlet_fields.register(transfer.FEEDS)
        # A feed added anywhere (admin, `feeds add`, an import) is fetched soon, not at the next sweep.
        post_save.connect(tasks.queue_new_feed, sender=Feed, dispatch_uid="newsdesk.queue_new_feed")
