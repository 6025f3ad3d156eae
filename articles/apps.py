from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Newsroom"

    def ready(self):
        # The page cache's invalidation on every content change, and the models django-reversion
        # records: both take effect by being imported.
        from articles.newsroom.revisions import record  # noqa: F401
        from articles.site.cache import signals  # noqa: F401
        from articles.transfer import outlet_fields, outlet_ratings

        # An outlet's rating history and country travel with it in the story import format.
        outlet_fields.register(outlet_ratings.RATINGS)
        outlet_fields.register(outlet_ratings.COUNTRY)
