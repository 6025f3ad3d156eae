"""The one way a story changes: article_save, and the steps every save runs after it.

Every door into a story (the admin's form, the bulk publish actions, the importer, a restored
revision, a correction) ends in article_save, which in one transaction and one revision:

1. checks the user's right to make the change (a Writer neither publishes nor changes a live story;
   `user=None` is an import or a script, which may do anything);
2. saves the story (its summary rendered, its picture's sizes made: Article.save) and counts the save
   in `lock_version` (optimistic locking: an edit form opened before it is now stale);
3. lets the caller write what hangs off the story (`write`: its sources and rating, from a form, a
   file or a revision);
4. runs the after-save steps, here and nowhere else: the rating computed from the outlets' ratings
   in force on the story's date (bias_rating_refresh), the search vector (articles.search_index),
   the "Updated" time of a live story whose content changed (or that gets a correction), the
   correction itself;
5. records the story as it now stands, with its sources and rating, as one revision.

The content version that cached pages are kept under moves by itself: every row written above sends
a signal (articles.site.cache.signals). Keyword-only arguments; callers pass the acting user.
"""

from collections.abc import Callable

import reversion
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from articles import search_index
from articles.models import Article, BiasRating, Correction, Source
from articles.newsroom.basis import kept_ratings, story_basis
from articles.newsroom.revisions.record import article_recorded
from articles.permissions import can_publish

# A change to any of these after a story went live is shown to readers as "Updated".
CONTENT_FIELDS = frozenset(
    {"title", "summary", "category", "image", "image_alt", "image_credit", "ai_summary"}
)


def _check_rights(user, article: Article, stored: dict | None) -> None:
    if user is None or can_publish(user):
        return
    if stored is not None and stored["status"] == Article.Status.PUBLISHED:
        raise PermissionDenied("Only editors can change a published story.")
    if article.status == Article.Status.PUBLISHED:
        raise PermissionDenied("Only editors can publish stories.")


@transaction.atomic
def article_save(
    *,
    article: Article,
    user,
    comment: str | Callable[[], str],
    write: Callable[[Article], bool] | None = None,
    content_changed: bool = False,
    correction: Correction | None = None,
    recompute_balance: bool = False,
) -> Article:
    """Save `article` and everything that follows from it (see the module's docstring).

    `write(article)` writes the story's sources and rating once the story has its id, and says
    whether anything changed. `content_changed`: the story's own fields readers see changed
    (CONTENT_FIELDS). `correction`: a public note (unsaved, already checked) to append. `comment`
    says what the revision holds, or is called once everything is written. `recompute_balance`: a
    story already live takes every outlet's rating in force on its date afresh (an Editor's request,
    articles.newsroom.ratings.stories_recompute); otherwise it keeps those its bar was published with.
    """
    stored = None
    if article.pk is not None:
        stored = (
            Article.objects.select_for_update()
            .filter(pk=article.pk)
            .values("status", "published_at", "lock_version")
            .first()
        )
    _check_rights(user, article, stored)
    was_live = (
        stored is not None
        and stored["status"] == Article.Status.PUBLISHED
        and stored["published_at"] is not None
        and stored["published_at"] <= timezone.now()
    )
    if stored is None and article.created_by_id is None:
        article.created_by = user
    article.updated_by = user
    if stored is not None:
        article.lock_version = stored["lock_version"] + 1
    with reversion.create_revision():
        article.save()
        related_changed = bool(write(article)) if write else False
        bias_rating_refresh(article=article, keep_ratings=was_live and not recompute_balance)
        search_index.refresh([article.pk])
        if correction is not None:
            article_mark_modified(article=article)
            correction.article = article
            correction.created_at = article.modified_at  # the note's date is the "Updated" time
            correction.save()
        elif was_live and (content_changed or related_changed):
            article_mark_modified(article=article)
        reversion.set_user(user)
        reversion.set_comment(comment() if callable(comment) else comment)
        article_recorded(article)
    return article


def bias_rating_refresh(*, article: Article, keep_ratings: bool = False) -> BiasRating | None:
    """Recompute a rating made from the sources' leans (or create one when the story has none), with
    each outlet's rating in force on the story's date (its publish date; today for a draft:
    articles.newsroom.basis), and record what it rests on (as_of, outlets per side, basis).

    An editorial rating keeps its numbers (the editor's) but still gets its basis and counts. A
    computed rating whose outlets are all unrated on that date is removed: a bar with nothing behind
    it would mislead readers. Each outlet is one voice (articles.bias.voices): an outlet cited by two
    of its pieces counts once, and wire copies are left out (their original is cited too, and one
    piece of reporting counts once). `unrated_sources` counts unrated outlets.

    `keep_ratings` (a story already live, edited): outlets its bar already counted keep the rating
    they were counted with, so a rating made later never rewrites a published bar as a side effect
    of fixing a typo; only outlets newly cited take the rating in force on the story's date.
    """
    rating = BiasRating.objects.filter(article=article).first()
    kept = kept_ratings(rating.basis) if keep_ratings and rating is not None else None
    basis = story_basis(article=article, kept=kept)
    if rating is not None and rating.method == BiasRating.Method.EDITORIAL:
        BiasRating.objects.filter(pk=rating.pk).update(**basis.fields())
        rating.refresh_from_db()
        return rating
    split = basis.split
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
            **basis.fields(),
        },
    )
    return rating


def article_mark_modified(*, article: Article) -> None:
    """Record that a live story's content changed (readers see "Updated", feeds a new modified time)."""
    article.modified_at = timezone.now()
    Article.objects.filter(pk=article.pk).update(modified_at=article.modified_at)


def source_changed(*, source: Source, name_changed: bool) -> None:
    """What follows from an outlet's change for the stories citing it: their search vectors (a new
    name, which search finds them by). A change of lean is a new dated rating, whose consequences
    articles.newsroom.ratings draws (stories not yet live recomputed, live ones left as published)."""
    if name_changed:
        citing = Article.objects.filter(article_sources__source=source).distinct()
        search_index.refresh(citing.values("pk"))


def articles_not_ready_to_publish(*, articles) -> list[tuple[Article, dict[str, str]]]:
    """The drafts among `articles` that Article.check_publishable keeps from going live, with why."""
    drafts = Article.objects.filter(pk__in=articles.values("pk")).exclude(status=Article.Status.PUBLISHED)
    drafts = drafts.exclude(image="").only("title", "image", "image_alt", "image_credit").order_by("title")
    return [(article, problems) for article in drafts if (problems := article.publish_problems())]


@transaction.atomic
def articles_set_status(*, articles, status: str, user) -> list[Article]:
    """Publish or unpublish articles, each through article_save (one revision each: its history
    reads and restores alone); only users allowed to publish may do either. Stories that may not go
    live yet (articles_not_ready_to_publish) are left as they are. Returns the stories changed (a
    published one whose publish time is still ahead is scheduled, not live)."""
    if not can_publish(user):
        raise PermissionDenied("Only editors can publish or unpublish stories.")
    changed = []
    # Read under lock (no save between the read and article_save's), as plain rows: the admin passes
    # its changelist queryset, whose COUNT annotation adds a GROUP BY, and PostgreSQL refuses FOR
    # UPDATE with GROUP BY.
    for article in Article.objects.filter(pk__in=articles.values("pk")).order_by("pk").select_for_update():
        if article.status == status:
            continue
        if status == Article.Status.PUBLISHED and article.publish_problems():
            continue
        comment = f"Status changed from {article.get_status_display()} to {Article.Status(status).label}."
        article.status = status
        if status == Article.Status.PUBLISHED and article.published_at is None:
            article.published_at = timezone.now()
        article_save(article=article, user=user, comment=comment)
        changed.append(article)
    return changed
