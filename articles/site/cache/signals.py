"""Cache upkeep: any content change invalidates the page cache, at once and again on commit, and
purges the caching proxy's pages that showed it after the commit.

The bump at save time makes the change visible right away to the code that made it; the bump after
commit makes sure no reader re-cached the old page while the transaction was still open, and counts
the change in the database (articles.content_version). The proxy's purge (articles.site.cache.proxy)
follows that bump, with the surrogate keys of every change the transaction made.
"""

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from articles.models import Article, ArticleSource, BiasRating, Category, Correction, Source, SourceRating
from articles.site.cache import proxy, surrogate
from articles.site.cache.content_version import bump_cache_counter, bump_content_version

CONTENT_MODELS = (Article, ArticleSource, BiasRating, Category, Correction, Source, SourceRating)


def _bump_pending() -> bool:
    # One bump after commit is enough however many rows the transaction wrote. Looking in the
    # pending callbacks (rather than keeping a flag) stays right when a savepoint rolls back.
    return connection.in_atomic_block and any(
        func is bump_content_version for _, func, _ in connection.run_on_commit
    )


@receiver(pre_save)
def content_changing(sender, **kwargs):
    if sender in CONTENT_MODELS and proxy.enabled():
        surrogate.remember_before(sender, **kwargs)  # where the row was visible before this save


@receiver(post_save)
@receiver(post_delete)
def content_changed(sender, **kwargs):
    if sender in CONTENT_MODELS:
        bump_cache_counter()
        if not _bump_pending():
            transaction.on_commit(bump_content_version)
        if proxy.enabled():  # after the bump was arranged: the purge runs after it
            proxy.purge_on_commit(surrogate.keys_for_change(sender, **kwargs), using=kwargs.get("using"))
