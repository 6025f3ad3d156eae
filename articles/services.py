"""Writes that span several models. Keyword-only arguments; callers pass the acting user."""

import reversion
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from .bias import split_from_leans
from .models import Article, BiasRating, Source

PUBLISH_PERMISSION = "articles.publish_article"
# A change to any of these after a story went live is shown to readers as "Updated".
CONTENT_FIELDS = frozenset(
    {"title", "summary", "category", "image", "image_alt", "image_credit", "ai_summary"}
)


def can_publish(user) -> bool:
    return bool(user and user.has_perm(PUBLISH_PERMISSION))


def bias_rating_refresh(*, article: Article) -> BiasRating | None:
    """Recompute a rating made from the sources' leans (or create one when the story has none).

    An editorial rating is left alone. A computed rating whose sources are all unrated is removed:
    a bar with nothing behind it would mislead readers.
    """
    rating = BiasRating.objects.filter(article=article).first()
    if rating is not None and rating.method == BiasRating.Method.EDITORIAL:
        return rating
    leans = article.article_sources.values_list("source__bias", flat=True)
    split = split_from_leans(leans)
    if split is None:
        if rating is not None:
            rating.delete()
        return None
    rating, _ = BiasRating.objects.update_or_create(
        article=article,
        defaults={
            "left": split.left,
            "center": split.center,
            "right": split.right,
            "unrated_sources": split.unrated,
            "method": BiasRating.Method.SOURCES,
        },
    )
    return rating


def source_lean_changed(*, source: Source) -> int:
    """Recompute the computed ratings of every story citing this outlet; returns how many."""
    articles = Article.objects.filter(article_sources__source=source).exclude(
        bias_rating__method=BiasRating.Method.EDITORIAL
    )
    count = 0
    for article in articles.distinct().iterator():
        bias_rating_refresh(article=article)
        count += 1
    return count


def articles_not_ready_to_publish(*, articles) -> list[tuple[Article, dict[str, str]]]:
    """The drafts among `articles` that Article.check_publishable keeps from going live, with why."""
    drafts = Article.objects.filter(pk__in=articles.values("pk")).exclude(status=Article.Status.PUBLISHED)
    drafts = drafts.exclude(image="").only("title", "image", "image_alt", "image_credit").order_by("title")
    return [(article, problems) for article in drafts if (problems := article.publish_problems())]


@transaction.atomic
def articles_set_status(*, articles, status: str, user) -> int:
    """Publish or unpublish articles; only users allowed to publish may do either. Stories that may not
    go live yet (articles_not_ready_to_publish) are left as they are."""
    if not can_publish(user):
        raise PermissionDenied("Only editors can publish or unpublish stories.")
    changed = 0
    # Lock plain rows: the admin passes its changelist queryset, whose COUNT annotation adds a
    # GROUP BY, and PostgreSQL refuses FOR UPDATE with GROUP BY.
    for article in Article.objects.filter(pk__in=articles.values("pk")).select_for_update():
        if article.status == status:
            continue
        if status == Article.Status.PUBLISHED and article.publish_problems():
            continue
        comment = f"Status changed from {article.get_status_display()} to {Article.Status(status).label}."
        article.status = status
        if status == Article.Status.PUBLISHED and article.published_at is None:
            article.published_at = timezone.now()
        article.updated_by = user
        article.lock_version += 1  # the row is locked; an edit form opened before this save is now stale
        with reversion.create_revision():  # one per story: its history reads (and restores) alone
            reversion.set_user(user)
            reversion.set_comment(comment)
            article.save(update_fields=["status", "published_at", "updated_by", "updated_at", "lock_version"])
        changed += 1
    return changed


def article_mark_modified(*, article: Article) -> None:
    """Record that a live story's content changed (readers see "Updated", feeds a new modified time)."""
    article.modified_at = timezone.now()
    Article.objects.filter(pk=article.pk).update(modified_at=article.modified_at)
