"""Blindspots, by a rule anyone can check with the numbers we show.

A story cited by n distinct rated outlets (wire copies once), x of them on one side (lean_left counts
left, lean_right right), is a blindspot for that side when
  n >= NEWSAPP_BLINDSPOT_MIN_OUTLETS, and
  the upper end of the 95% Wilson score interval of x/n is below the side's baseline share: the side's
  voices over all rated voices of the live stories in the story's section during the
  NEWSAPP_BLINDSPOT_WINDOW_DAYS days before the story's day.
A section with no rated voice in the window has no baseline, and nothing in it is flagged.

The Wilson interval, not x/n alone: with few outlets a low share is often chance, and the interval
says how low the side's true share can plausibly be. The rule is published on /methodology/.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import sqrt

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from articles.models import Article
from coverage.tallies import Tally, daily_tallies, sum_tallies

SIDES = ("left", "right")
Z_95 = 1.959964  # the standard normal's 97.5th percentile: a two-sided 95% interval
# n: a story's distinct rated outlets.
RATED_OUTLETS = (
    F("bias_rating__outlets_left") + F("bias_rating__outlets_center") + F("bias_rating__outlets_right")
)


def wilson_interval(x: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of the proportion x/n."""
    if n < 1 or not 0 <= x <= n:
        raise ValueError(f"need 0 <= x <= n and n >= 1, got x={x}, n={n}")
    p = x / n
    z2 = z * z
    middle = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At x = 0 (x = n) the lower (upper) end is exactly 0 (1); floating point would give -1e-17.
    low = 0.0 if x == 0 else max(0.0, middle - half)
    high = 1.0 if x == n else min(1.0, middle + half)
    return low, high


def is_blindspot(*, x: int, n: int, baseline: float | None, min_outlets: int) -> bool:
    """The rule itself, for one side of one story."""
    if n < min_outlets or baseline is None:
        return False
    return wilson_interval(x, n)[1] < baseline


@dataclass(frozen=True)
class Blindspot:
    article: Article  # with its category and bias_rating loaded
    side: str  # "left" or "right": the side that barely covers the story
    n: int
    x: int
    share: float  # x / n
    low: float
    high: float
    baseline: float


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def current_blindspots(*, now: datetime | None = None, limit: int = 50) -> dict[str, list[Blindspot]]:
    """The blindspots among the stories published in the last NEWSAPP_BLINDSPOT_RECENT_DAYS days, newest
    first, at most `limit` a side. Two queries whatever the archive's size (one when no recent story has
    enough outlets): the recent stories with n >= the minimum, then every baseline's daily tallies.

    The baseline window is counted in whole days of the site's time zone: the W days before the story's
    local day. A story's own day is left out, which also leaves out the story itself (and its siblings
    published the same day, a thirtieth of the window at most); in return every story of a section on a day
    shares one baseline, which a reader can check against the section's daily balance, and the baselines
    of any number of stories come from one GROUP BY over the days they span."""
    now = now or timezone.now()
    min_outlets = settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS
    window = settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS
    candidates = list(
        # published() with the real clock, so a `now` in the future can never show a scheduled story.
        Article.objects.published()
        .for_cards()
        .filter(
            published_at__gt=now - timedelta(days=settings.NEWSAPP_BLINDSPOT_RECENT_DAYS),
            published_at__lte=now,
        )
        .alias(n=RATED_OUTLETS)
        .filter(n__gte=min_outlets)
    )
    found: dict[str, list[Blindspot]] = {side: [] for side in SIDES}
    if not candidates:
        return found
    days = {story.pk: local_day(story.published_at) for story in candidates}
    tallies = daily_tallies(
        since=_midnight(min(days.values()) - timedelta(days=window)),
        until=_midnight(max(days.values())),
        section_ids={story.category_id for story in candidates},
    )
    baselines: dict[tuple[int, date], Tally] = {}
    for story in candidates:
        key = (story.category_id, days[story.pk])
        if key not in baselines:
            day = key[1]
            baselines[key] = sum_tallies(
                tallies.get((key[0], day - timedelta(days=back)), Tally()) for back in range(1, window + 1)
            )
        rating = story.bias_rating
        n = rating.outlets_left + rating.outlets_center + rating.outlets_right
        for side in SIDES:
            if len(found[side]) >= limit:
                continue
            x = getattr(rating, f"outlets_{side}")
            baseline = baselines[key].share(side)
            if is_blindspot(x=x, n=n, baseline=baseline, min_outlets=min_outlets):
                low, high = wilson_interval(x, n)
                found[side].append(
                    Blindspot(
                        article=story, side=side, n=n, x=x, share=x / n, low=low, high=high, baseline=baseline
                    )
                )
    return found
