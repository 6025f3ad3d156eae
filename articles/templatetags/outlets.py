"""An outlet's rating history drawn as a timeline: one coloured span per rating, from the day it took effect
until the next one (or today), server-rendered SVG with the same history in words for readers who cannot
see it. The directory draws it small and the outlet page large; both through this one tag."""

from dataclasses import dataclass
from datetime import date, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format

register = template.Library()

WIDTH = 100  # the drawing's viewBox width: positions are shares of the time shown
MAX_TICKS = 12


@dataclass(frozen=True)
class Span:
    lean: str
    label: str
    start: date
    end: date | None  # the last day in force; None while in force (or while still to come)
    x: str  # formatted here: the template must not localise a coordinate
    width: str


def _day(value: date) -> str:
    return date_format(value, "j F Y")


def _x(day: date, first: date, days: int) -> float:
    return WIDTH * (day - first).days / days


def timeline(ratings, today: date) -> dict:
    """What the template draws: spans in date order, year ticks, and the history told in words."""
    ordered = sorted(ratings, key=lambda rating: rating.effective_from)
    if not ordered:
        return {"spans": []}
    first = ordered[0].effective_from
    stop = max(today, ordered[-1].effective_from) + timedelta(days=1)  # the drawing ends after today
    days = (stop - first).days
    spans, words = [], []
    for rating, following in zip(ordered, [*ordered[1:], None], strict=True):
        start_x = _x(rating.effective_from, first, days)
        end_x = _x(following.effective_from, first, days) if following else WIDTH
        end = following.effective_from - timedelta(days=1) if following else None
        label = rating.get_lean_display()
        width = f"{end_x - start_x:.3f}"
        spans.append(Span(rating.lean, label, rating.effective_from, end, f"{start_x:.3f}", width))
        if rating.effective_from > today:
            words.append(f"{label} from {_day(rating.effective_from)} (not yet in force)")
        elif end is None:
            words.append(f"{label} from {_day(rating.effective_from)}, in force today")
        else:
            words.append(f"{label} from {_day(rating.effective_from)} to {_day(end)}")
    years = list(range(first.year + 1, stop.year + 1))
    step = -(-len(years) // MAX_TICKS) if years else 1
    ticks = [
        {"year": year, "x": f"{_x(date(year, 1, 1), first, days):.3f}"}
        for year in years[::step]
        if date(year, 1, 1) < stop
    ]
    return {
        "spans": spans,
        "ticks": ticks,
        "first": first,
        "description": "Rating history: " + "; ".join(words) + ".",
    }


@register.inclusion_tag("includes/_rating_timeline.html")
def rating_timeline(ratings, size="small"):
    """`ratings`: an outlet's SourceRating rows, in any order (a prefetched list or a queryset)."""
    return {**timeline(list(ratings), timezone.localdate()), "size": size}
