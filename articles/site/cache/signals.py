"""Cache upkeep: any content change invalidates the page cache, at once and again on commit.

The bump at save time makes the change visible right away to the code that made it; the bump after
commit makes sure no reader re-cached the old page while the transaction was still open, and counts
the change in the database (articles.content_version).
"""

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from articles.models import Article, ArticleSource, BiasRating, Category, Correction, Source, SourceRating
from articles.site.cache.content_version import bump_cache_counter, bump_content_version

CONTENT_MODELS = (Article, ArticleSource, BiasRating, Category, Correction, Source, SourceRating)


def _bump_pending() -> bool:
    # One bump after commit is enough however many rows the transaction wrote. Looking in the
    # pending callbacks (rather than keeping a flag) stays right when a savepoint rolls back.
    return connection.in_atomic_block and any(
        func is bump_content_version for _, func, _ in connection.run_on_commit
    )


@receiver(post_save)
@receiver(post_delete)
def content_changed(sender, **kwargs):
    if sender in CONTENT_MODELS:
        bump_cache_counter()
        if not _bump_pending():
            transaction.on_commit(bump_content_version)
