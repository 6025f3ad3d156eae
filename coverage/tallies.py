"""Voices per section and day: the one place coverage balance is counted.

A voice is one distinct rated outlet citing a story (BiasRating.outlets_*: wire copies counted once,
lean_left counted left, lean_right right, unrated outlets left out). Balance over time
(coverage.balance), the blindspot baselines (coverage.blindspots) and the API all add up these
tallies, so a number shown on one page is the number shown on every other.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from articles.models import Article, BiasRating

SIDES = ("left", "center", "right")


@dataclass(frozen=True)
class Tally:
    """Live stories and their rated voices on each side."""

    stories: int = 0
    left: int = 0
    center: int = 0
    right: int = 0

    @property
    def rated(self) -> int:
        return self.left + self.center + self.right

    def share(self, side: str) -> float | None:
        """The side's share of the rated voices; None when there are none (no share to speak of)."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {', '.join(SIDES)}, not {side!r}")
        return getattr(self, side) / self.rated if self.rated else None


def sum_tallies(tallies: Iterable[Tally]) -> Tally:
    stories = left = center = right = 0
    for tally in tallies:
        stories += tally.stories
        left += tally.left
        center += tally.center
        right += tally.right
    return Tally(stories=stories, left=left, center=center, right=right)


def daily_tallies(
    *, since: datetime, until: datetime, section_ids: Iterable[int] | None = None
) -> dict[tuple[int, date], Tally]:
    """Tallies of the live stories published in [since, until), keyed by (section id, the local date
    of publication in the site's time zone), in one GROUP BY query. Days without a live story are
    absent. `stories` counts every live story, rated or not (a story without a BiasRating adds no
    voices); only Article.objects.published() is read, so drafts and scheduled stories never count."""
    stories = Article.objects.published().filter(published_at__gte=since, published_at__lt=until)
    if section_ids is not None:
        stories = stories.filter(category_id__in=list(section_ids))
    # Each story's voices read by its key, a correlated subquery per story of the window, not a join:
    # a join left PostgreSQL free to hash the whole ratings table, which it did whenever its statistics
    # made that look cheaper (a fresh 15,000-row table), reading every rating in the archive. A
    # subquery is always run per row, on the ratings' primary key (or coverage_biasrating_voices_idx),
    # so the rows read are the window's stories and their ratings whatever the statistics say.
    voices = BiasRating.objects.filter(article=OuterRef("pk"))
    rows = (
        stories.order_by()
        # The site's zone, not the request's: a day means the same stories to every reader.
        .values("category_id", day=TruncDate("published_at", tzinfo=timezone.get_default_timezone()))
        .annotate(
            n_stories=Count("pk"),
            **{
                f"n_{side}": Coalesce(Sum(Subquery(voices.values(f"outlets_{side}"))), Value(0))
                for side in SIDES
            },
        )
    )
    return {
        (row["category_id"], row["day"]): Tally(
            stories=row["n_stories"], left=row["n_left"], center=row["n_center"], right=row["n_right"]
        )
        for row in rows
    }
