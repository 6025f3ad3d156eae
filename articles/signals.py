"""Cache upkeep: any content change invalidates the page cache, at once and again on commit.

The bump at save time makes the change visible right away to the code that made it; the bump after
commit makes sure no reader re-cached the old page while the transaction was still open.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Article, ArticleSource, BiasRating, Category, Correction, Source
from .pagecache import bump_content_version

CONTENT_MODELS = (Article, ArticleSource, BiasRating, Category, Correction, Source)


@receiver(post_save)
@receiver(post_delete)
def content_changed(sender, **kwargs):
    if sender in CONTENT_MODELS:
        bump_content_version()
        transaction.on_commit(bump_content_version)
