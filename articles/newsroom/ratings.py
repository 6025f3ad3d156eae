"""Outlet ratings: the one way a rating is added, changed or removed, and what follows for stories.

A story's computed balance uses each outlet's rating in force on the story's date
(articles.newsroom.basis). So a new rating, or a removed one, recomputes only stories not yet live
(drafts and scheduled stories, whose date is still to come or is today); published stories keep the
balance they were published with until an Editor recomputes them (stories_recompute), which records
a revision in each story's history. Source.bias, the rating in force today, is kept here.
"""

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from articles.models import Article, BiasRating, Source, SourceRating
from articles.newsroom.basis import leans_on, story_day
from articles.newsroom.stories import article_save, bias_rating_refresh
from articles.permissions import can_publish

__all__ = [
    "RatingChange",
    "Recomputed",
    "first_rating_day",
    "leans_on",
    "ratings_changed",
    "source_rating_delete",
    "source_rating_save",
    "stories_recompute",
]


@dataclass(frozen=True)
class RatingChange:
    """What a rating's change did: stories not yet live recomputed, and the live stories dated in
    the rating's span that keep their published balance (an Editor may recompute them)."""

    recomputed: int
    published_kept: int
    lean: str  # the outlet's lean today, after the change


@dataclass
class Recomputed:
    recomputed: list[Article] = field(default_factory=list)
    editorial: list[Article] = field(default_factory=list)  # left alone: the numbers are an editor's


def _check_editor(user, what: str) -> None:
    if user is not None and not can_publish(user):
        raise PermissionDenied(f"Only editors can {what}.")


def _lean_today(source_id: int) -> str:
    rating = leans_on(source_ids=[source_id], day=timezone.localdate())[source_id]
    return rating.lean if rating else Source.Lean.UNRATED


def _citing(source_id: int):
    return Article.objects.filter(article_sources__source_id=source_id).distinct()


def _span_end(source_id: int, start: date) -> date | None:
    """The day the outlet's next rating after `start` takes effect (None: none after it)."""
    later = SourceRating.objects.filter(source_id=source_id, effective_from__gt=start)
    return later.order_by("effective_from").values_list("effective_from", flat=True).first()


def _published_in_span(source_id: int, start: date) -> int:
    """Live stories citing the outlet whose date falls in [start, next rating): the ones whose
    balance a rating from `start` would change, and which keep theirs."""
    live = _citing(source_id).filter(pk__in=Article.objects.published().values("pk"))
    live = live.exclude(bias_rating__method=BiasRating.Method.EDITORIAL)  # an editor's numbers stay
    live = live.filter(published_at__date__gte=start)
    if (end := _span_end(source_id, start)) is not None:
        live = live.filter(published_at__date__lt=end)
    return live.count()


def first_rating_day(*, source_id: int | None, also: list[date] = ()) -> date:
    """When an outlet's first rating takes effect, when it had a lean but no dated history (an old
    outlet, an imported one): the earliest publish date of a story citing it, so that stories keep
    the lean they were published with; today when none does."""
    days = list(also)
    if source_id is not None:
        cited = _citing(source_id).filter(status=Article.Status.PUBLISHED).exclude(published_at=None)
        moment = cited.order_by("published_at").values_list("published_at", flat=True).first()
        if moment is not None:
            days.append(timezone.localdate(moment))
    return min([*days, timezone.localdate()])


def ratings_changed(*, source: Source, start: date) -> RatingChange:
    """After an outlet's ratings from `start` on were written (by a save, a removal or an import):
    keep its current lean, recompute the stories citing it that are not live yet, and count the
    live ones dated from `start` on that keep their balance."""
    lean = _lean_today(source.pk)
    if source.bias != lean:
        source.bias = lean
        Source.objects.filter(pk=source.pk).update(bias=lean)
    not_live = _citing(source.pk).exclude(pk__in=Article.objects.published().values("pk"))
    recomputed = 0
    for article in not_live.order_by("pk").iterator():
        bias_rating_refresh(article=article)
        recomputed += 1
    return RatingChange(recomputed, _published_in_span(source.pk, start), lean)


@transaction.atomic
def source_rating_save(*, rating: SourceRating, user) -> RatingChange:
    """Check and save an outlet's rating (added or changed), keep the outlet's current lean, and
    recompute the stories citing it that are not live yet. Editors only (`user=None`: an import or
    a script). Raises ValidationError (nothing saved) for a future date, an unnamed external rater
    or a second rating on the same day."""
    _check_editor(user, "rate outlets")
    earlier = None
    if rating.pk is not None:
        earlier = SourceRating.objects.filter(pk=rating.pk).values_list("effective_from", flat=True).first()
    rating.full_clean()
    if rating.pk is None and rating.created_by_id is None:
        rating.created_by = user
    rating.save()
    # A rating moved to another day changed the stories of both spans: the earlier start covers them.
    start = min(filter(None, [earlier, rating.effective_from]))
    return ratings_changed(source=rating.source, start=start)


@transaction.atomic
def source_rating_delete(*, rating: SourceRating, user) -> RatingChange:
    """Remove a rating (the one before it is in force again over its span), with the same
    consequences as a save. Editors only."""
    _check_editor(user, "remove an outlet's rating")
    source, start = rating.source, rating.effective_from
    rating.delete()
    return ratings_changed(source=source, start=start)


def recompute_comment(day: date) -> str:
    return f"Balance recomputed with the outlet ratings in force on {day:%Y-%m-%d} (the story's date)."


@transaction.atomic
def stories_recompute(*, articles, user) -> Recomputed:
    """Recompute the computed balance of the selected stories with the ratings in force on each
    story's date, each through article_save (one revision each, saying so). Editorial ratings are
    left alone and reported. Editors only: this changes live stories."""
    if not can_publish(user):
        raise PermissionDenied("Only editors can recompute stories' balance.")
    result = Recomputed()
    # Plain rows under lock, as articles_set_status reads them (the changelist's queryset groups rows).
    chosen = list(Article.objects.filter(pk__in=articles.values("pk")).order_by("pk").select_for_update())
    editorial = set(
        BiasRating.objects.filter(article__in=chosen, method=BiasRating.Method.EDITORIAL).values_list(
            "article_id", flat=True
        )
    )
    for article in chosen:
        if article.pk in editorial:
            result.editorial.append(article)
            continue
        article_save(
            article=article, user=user, comment=recompute_comment(story_day(article)), recompute_balance=True
        )
        result.recomputed.append(article)
    return result
