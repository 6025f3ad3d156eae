"""What a story's computed bar rests on: each cited outlet's rating in force on the story's date.

Read-only, and importing nothing of the save path, so that both the save path
(articles.newsroom.stories.bias_rating_refresh) and the ratings' own services
(articles.newsroom.ratings) can use it. The numbers are articles.bias's arithmetic.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from articles.bias import BiasSplit, side_counts, split_from_leans, voices
from articles.models import Article, SourceRating

UNRATED = "unrated"


def leans_on(*, source_ids: Iterable[int], day: date) -> dict[int, SourceRating | None]:
    """The rating in force on `day` for each outlet (None: no rating yet on that day), in one query."""
    ids = set(source_ids)
    found: dict[int, SourceRating | None] = dict.fromkeys(ids)
    if not ids:
        return found
    latest = (
        SourceRating.objects.filter(source_id=OuterRef("source_id"), effective_from__lte=day)
        .order_by("-effective_from")
        .values("effective_from")[:1]
    )
    for rating in SourceRating.objects.filter(source_id__in=ids, effective_from=Subquery(latest)):
        found[rating.source_id] = rating
    return found


def story_day(article: Article) -> date:
    """The date whose ratings a story uses: its publish date (a scheduled story's too), today for a draft."""
    if article.status == Article.Status.PUBLISHED and article.published_at is not None:
        return timezone.localdate(article.published_at)
    return timezone.localdate()


@dataclass(frozen=True)
class Basis:
    as_of: date
    split: BiasSplit | None  # None: no cited outlet rated on that day
    outlets_left: int
    outlets_center: int
    outlets_right: int
    document: dict  # BiasRating.basis

    def fields(self) -> dict:
        """The BiasRating fields that record the basis (not the percentages)."""
        return {
            "as_of": self.as_of,
            "outlets_left": self.outlets_left,
            "outlets_center": self.outlets_center,
            "outlets_right": self.outlets_right,
            "basis": self.document,
            "computed_at": timezone.now(),
        }


def _entry(outlet: int, name: str, slug: str, rating: SourceRating | None) -> dict:
    if rating is None:
        return {
            "outlet": outlet, "name": name, "slug": slug, "lean": UNRATED, "rating": None, "rater": "",
            "rater_kind": "", "effective_from": None, "confidence": "", "method": "",
        }  # fmt: skip
    return {
        "outlet": outlet,
        "name": name,
        "slug": slug,
        "lean": rating.lean,
        "rating": rating.pk,
        "rater": rating.rater,
        "rater_kind": rating.rater_kind,
        "effective_from": rating.effective_from.isoformat(),
        "confidence": rating.confidence,
        "method": rating.method,
    }


def kept_ratings(document) -> dict[int, int | None]:
    """From a stored basis: each counted outlet and the rating it was counted with (None: unrated)."""
    kept = {}
    entries = document.get("outlets") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("outlet"), int):
            rating = entry.get("rating")
            kept[entry["outlet"]] = rating if isinstance(rating, int) else None
    return kept


def story_basis(
    *, article: Article, day: date | None = None, kept: dict[int, int | None] | None = None
) -> Basis:
    """The story's outlets, each with its rating in force on `day` (story_day by default); outlets in
    `kept` (kept_ratings of the stored basis) keep the rating recorded there, unless it was deleted."""
    day = day or story_day(article)
    cited = list(
        article.article_sources.order_by("position", "pk").values_list(
            "source_id", "source__name", "source__slug", "wire_copy"
        )
    )
    ratings = leans_on(source_ids={row[0] for row in cited}, day=day)
    if kept:
        recorded = SourceRating.objects.in_bulk([pk for pk in kept.values() if pk is not None])
        for outlet in ratings.keys() & kept.keys():
            if kept[outlet] is None:
                ratings[outlet] = None
            elif kept[outlet] in recorded:
                ratings[outlet] = recorded[kept[outlet]]
    return compose(day=day, cited=cited, ratings=ratings)


def compose(*, day: date, cited: list[tuple[int, str, str, bool]], ratings: dict) -> Basis:
    """The basis of a story citing `cited` (outlet, name, slug, wire copy) in citation order, given
    each outlet's rating on `day` (`ratings`, as leans_on returns them): one voice per outlet in
    first-citation order, outlets cited only as wire copies listed apart (not counted)."""
    voiced = {outlet for outlet, _name, _slug, copy in cited if not copy}
    outlets, copies, seen = [], [], set()
    for outlet, name, slug, _copy in cited:
        if outlet in seen:
            continue
        seen.add(outlet)
        if outlet in voiced:
            outlets.append(_entry(outlet, name, slug, ratings.get(outlet)))
        else:
            copies.append({"outlet": outlet, "name": name, "slug": slug})
    in_force = {outlet: rating.lean for outlet, rating in ratings.items() if rating is not None}
    leans = voices((outlet, in_force.get(outlet), copy) for outlet, _, _, copy in cited)
    left, center, right, _unrated = side_counts(leans)
    return Basis(
        as_of=day,
        split=split_from_leans(leans),
        outlets_left=left,
        outlets_center=center,
        outlets_right=right,
        document={"outlets": outlets, "wire_copies": copies},
    )


def in_force_on(history: list[SourceRating], day: date) -> SourceRating | None:
    """The rating of `history` (one outlet's, oldest first) in force on `day`."""
    found = None
    for rating in history:
        if rating.effective_from > day:
            break
        found = rating
    return found
