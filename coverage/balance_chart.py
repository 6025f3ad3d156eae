"""Where the balance charts' pieces go, for server-rendered SVG (no script, no inline style).

Each bar is a nested <svg> whose viewBox is 100 units along the bar, so a side's rectangle is as
long as its whole percentage: the chart shows exactly the numbers of the table beside it. The
sides' colours are the site's bias bar classes (bias-l, bias-c, bias-r).
"""

from dataclasses import dataclass
from datetime import date

from coverage.balance import DayBalance, ScopeBalance, Segment

WIDTH = 320
BAR_X = 64  # after the bar's label ("30 days")
BAR_WIDTH = WIDTH - BAR_X
BAR_HEIGHT = 14
ROW = 20
HEADING = 20
GAP = 8

COLUMN = 10  # a day in the series: its bar and the gap after it
COLUMN_WIDTH = 8
PLOT_HEIGHT = 100
AXIS = 16


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    segments: list[Segment]
    description: str

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 3


@dataclass(frozen=True)
class Group:
    name: str
    y: int  # the heading's baseline
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    groups: list[Group]
    height: int
    headings: bool
    width: int = WIDTH
    bar_x: int = BAR_X
    bar_width: int = BAR_WIDTH
    bar_height: int = BAR_HEIGHT


def bar_chart(scopes: list[ScopeBalance], *, headings: bool = True) -> BarChart:
    """A group of bars per scope (the site, a section), a bar per window; headings name the scopes."""
    groups, y = [], 0
    for scope in scopes:
        heading_y = y + HEADING - 6
        if headings:
            y += HEADING
        bars = []
        for window in scope.windows:
            bars.append(Bar(f"{window.days} days", y, window.segments, window.description))
            y += ROW
        groups.append(Group(scope.name, heading_y, bars))
        y += GAP
    return BarChart(groups, max(y - GAP, 1), headings)


@dataclass(frozen=True)
class Column:
    x: int
    day: date
    segments: list[Segment]


@dataclass(frozen=True)
class SeriesChart:
    columns: list[Column]
    first: date
    last: date
    width: int
    height: int = PLOT_HEIGHT + AXIS
    plot_height: int = PLOT_HEIGHT
    column_width: int = COLUMN_WIDTH
    axis_y: int = PLOT_HEIGHT + AXIS - 3


def series_chart(days: list[DayBalance]) -> SeriesChart:
    """A column per day, its sides stacked as whole percentages (left on top); a day with no rated
    outlets is an empty column."""
    columns = [Column(i * COLUMN, d.day, d.segments) for i, d in enumerate(days)]
    return SeriesChart(columns, days[0].day, days[-1].day, width=len(days) * COLUMN - (COLUMN - COLUMN_WIDTH))
