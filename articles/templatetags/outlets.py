"""An outlet's rating history drawn as a timeline: one coloured span per rating, from the day it took effect
until the next one (or today), server-rendered SVG with the same history in words for readers who cannot
see it. The directory draws it small, every row of a page on one scale so that rows compare; the outlet
page draws it large on its own scale, with the years marked under the bar. Both through this one tag.

Positions are percentages of the drawing's width (an SVG without a viewBox), so the bar stretches with
the page while tick marks and year labels keep their size in pixels."""

from dataclasses import dataclass
from datetime import date, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format

register = template.Library()

WIDTH = 100.0  # percent of the drawing
MIN_WIDTH = 4.0  # no rating narrower than this: a change of last week must show, not be a 2 px sliver
MAX_YEARS = 10  # a page's common scale reaches back this many years at most; older ratings are not drawn
MAX_LABELS = 6  # year labels under a large timeline: a few, evenly spaced, that fit a phone
MAX_MARKS = 24  # a mark under every year up to this many years: 14 px apart or more on a phone
EDGE = 5.0  # no year label this close to either end, where it would spill out of the drawing


@dataclass(frozen=True)
class Scale:
    """The time a drawing shows: from `first` to the day before `stop`."""

    first: date
    stop: date
    clipped: bool = False  # some rating took effect before `first`: it is told in words, not drawn

    @property
    def last(self) -> date:
        return self.stop - timedelta(days=1)

    def x(self, day: date) -> float:
        days = (day - self.first).days
        return min(WIDTH, max(0.0, WIDTH * days / (self.stop - self.first).days))


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


def _stop(days, today: date) -> date:
    return max(today, *days) + timedelta(days=1)  # the drawing ends after today, or a rating to come


def page_scale(histories, today: date) -> Scale | None:
    """One scale for every timeline of a page: from 1 January of the year of its earliest rating, at most
    MAX_YEARS years back, to today. None when no outlet of the page has a rating."""
    days = [rating.effective_from for history in histories for rating in history]
    if not days:
        return None
    earliest = min(days)
    first = max(date(earliest.year, 1, 1), date(today.year - MAX_YEARS, 1, 1))
    return Scale(first, _stop(days, today), clipped=earliest < first)


def _widths(natural: list[float], room: float) -> list[float]:
    """`room` shared among spans in proportion to their `natural` widths, none below MIN_WIDTH: the narrow
    ones take the minimum and the others give it up in proportion, until none is left below it."""
    floor = min(MIN_WIDTH, room / len(natural))
    narrow: set[int] = set()
    while True:
        wide = [i for i in range(len(natural)) if i not in narrow]
        if not wide:
            return [room / len(natural)] * len(natural)
        spare = room - floor * len(narrow)
        total = sum(natural[i] for i in wide)
        widths = [
            floor if i in narrow else (spare * natural[i] / total if total else spare / len(wide))
            for i in range(len(natural))
        ]
        smaller = {i for i in wide if widths[i] < floor}
        if not smaller:
            return widths
        narrow |= smaller


def _layout(bounds: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(x, width) of adjacent spans ending at the right edge, each at least MIN_WIDTH wide. When the
    spans lack the room (an outlet rated last month on a ten-year scale) their start moves left."""
    left = min(bounds[0][0], max(0.0, WIDTH - MIN_WIDTH * len(bounds)))
    widths = _widths([end - start for start, end in bounds], WIDTH - left)
    placed, x = [], left
    for width in widths:
        placed.append((x, width))
        x += width
    return placed


def _ticks(scale: Scale) -> list[dict]:
    """A mark for each 1 January inside the scale (only the named ones past MAX_MARKS years, where yearly
    marks would run together on a phone); at most MAX_LABELS of them named, none at the edges."""
    after = range(scale.first.year + 1, scale.stop.year + 1)
    years = [year for year in after if date(year, 1, 1) < scale.stop]
    step = -(-len(years) // MAX_LABELS) if years else 1
    ticks = []
    for index, year in enumerate(years):
        if index % step and len(years) > MAX_MARKS:
            continue
        x = scale.x(date(year, 1, 1))
        named = index % step == 0 and EDGE <= x <= WIDTH - EDGE
        ticks.append({"year": year, "x": f"{x:.3f}", "label": str(year) if named else ""})
    return ticks


def timeline(ratings, today: date, scale: Scale | None = None) -> dict:
    """What the template draws: spans in date order, year ticks, and the history told in words.
    Without a `scale`, the history's own: from its first rating to today."""
    ordered = sorted(ratings, key=lambda rating: rating.effective_from)
    if not ordered:
        return {"spans": []}
    scale = scale or Scale(ordered[0].effective_from, _stop([r.effective_from for r in ordered], today))
    drawn, words = [], []
    for rating, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = following.effective_from - timedelta(days=1) if following else None
        label = rating.get_lean_display()
        if end is None or end >= scale.first:  # a rating over before the scale began is told, not drawn
            end_x = scale.x(following.effective_from) if following else WIDTH
            drawn.append((rating, label, end, (scale.x(rating.effective_from), end_x)))
        if rating.effective_from > today:
            words.append(f"{label} from {_day(rating.effective_from)} (not yet in force)")
        elif end is None:
            words.append(f"{label} from {_day(rating.effective_from)}, in force today")
        else:
            words.append(f"{label} from {_day(rating.effective_from)} to {_day(end)}")
    placed = _layout([bounds for *_, bounds in drawn])
    spans = [
        Span(rating.lean, label, rating.effective_from, end, f"{x:.3f}", f"{width:.3f}")
        for (rating, label, end, _), (x, width) in zip(drawn, placed, strict=True)
    ]
    return {
        "spans": spans,
        "ticks": _ticks(scale),
        "scale": scale,
        "ends_today": scale.last == today,
        "description": "Rating history: " + "; ".join(words) + ".",
    }


@register.inclusion_tag("includes/_rating_timeline.html")
def rating_timeline(ratings, size="small", scale=None):
    """`ratings`: an outlet's SourceRating rows, in any order (a prefetched list or a queryset);
    `scale`: the page's common one (page_scale), or none for the history's own."""
    return {**timeline(list(ratings), timezone.localdate(), scale), "size": size}
