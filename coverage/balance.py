"""Coverage balance over time: the outlet voices on each side in the stories that went live lately,
site-wide and per section, and each outlet's share of a section's stories.

Voices are summed by coverage.tallies (the one place they are counted); this module picks the
windows and turns the sums into whole percentages for the pages. A window of n days is the site's
last n local dates, today included, so a day means the same stories on every page (the tallies
group by the site's local date too). Every function here runs a fixed number of queries, whatever
the size of the archive.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import CharField, Count, F, OuterRef, Q, StringAgg, Subquery, Value
from django.db.models.functions import Cast
from django.utils import timezone

from articles.bias import largest_remainder
from articles.models import Article, ArticleSource, Category, Source
from coverage.tallies import Tally, daily_tallies, sum_tallies

WINDOWS = (7, 30)
SERIES_DAYS = 30
SHARE_DAYS = 30  # an outlet's share of a section's stories
TOP_OUTLETS = 5  # per section on /balance/
SIDES = (("l", "left", "Left"), ("c", "center", "Center"), ("r", "right", "Right"))


@dataclass(frozen=True)
class Segment:
    """One side of a stacked bar: `key` is the CSS class suffix the site's bias bars use."""

    key: str
    word: str
    voices: int
    percent: int
    x: int


def segments(tally: Tally) -> list[Segment]:
    """The three sides as whole percentages of the rated voices (summing to 100); [] when none."""
    if not tally.rated:
        return []
    counts = [getattr(tally, side) for _, side, _ in SIDES]
    out, x = [], 0
    for (key, side, _), voices, percent in zip(SIDES, counts, largest_remainder(counts), strict=True):
        out.append(Segment(key, side, voices, percent, x))
        x += percent
    return out


def describe(tally: Tally) -> str:
    """The bar in words, for screen readers."""
    parts = segments(tally)
    if not parts:
        return "no rated outlets"
    return ", ".join(f"{s.percent}% {s.word} ({s.voices})" for s in parts)


@dataclass(frozen=True)
class WindowBalance:
    days: int
    tally: Tally

    @property
    def segments(self) -> list[Segment]:
        return segments(self.tally)

    @property
    def description(self) -> str:
        return describe(self.tally)


@dataclass(frozen=True)
class ScopeBalance:
    """The balance of the whole site (section None) or of one section, over each window."""

    name: str
    section: Category | None
    windows: list[WindowBalance]

    @property
    def rated(self) -> bool:
        return any(w.tally.rated for w in self.windows)


@dataclass(frozen=True)
class DayBalance:
    day: date
    tally: Tally

    @property
    def segments(self) -> list[Segment]:
        return segments(self.tally)


@dataclass(frozen=True)
class Overview:
    today: date
    site: ScopeBalance
    sections: list[ScopeBalance]
    series: list[DayBalance]  # the site's last SERIES_DAYS days, oldest first, empty days included

    @property
    def scopes(self) -> list[ScopeBalance]:
        return [self.site, *self.sections]


def day_start(day: date) -> datetime:
    """Midnight starting `day` in the site's time zone (the tallies' days)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def first_day(today: date, days: int) -> date:
    return today - timedelta(days=days - 1)


def local_today(now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now(), timezone.get_default_timezone())


def _tallies(*, today: date, section_ids=None) -> dict[tuple[int, date], Tally]:
    longest = max(*WINDOWS, SERIES_DAYS)
    # Until tomorrow's midnight: the tallies read published() stories only, so nothing after now.
    return daily_tallies(
        since=day_start(first_day(today, longest)),
        until=day_start(today + timedelta(days=1)),
        section_ids=section_ids,
    )


def _windows(tallies: dict[tuple[int, date], Tally], today: date, section_id: int | None):
    return [
        WindowBalance(
            days,
            sum_tallies(
                tally
                for (section, day), tally in tallies.items()
                if day >= first_day(today, days) and (section_id is None or section == section_id)
            ),
        )
        for days in WINDOWS
    ]


def overview(*, now: datetime | None = None, sections: list[Category] | None = None) -> Overview:
    """The site's and every section's balance, and the site's daily series: one query, and one more
    for the sections unless the caller has them (the navigation's)."""
    today = local_today(now)
    sections = list(Category.objects.all()) if sections is None else sections
    tallies = _tallies(today=today)
    series = [
        DayBalance(day, sum_tallies(t for (_, d), t in tallies.items() if d == day))
        for day in (first_day(today, SERIES_DAYS) + timedelta(days=i) for i in range(SERIES_DAYS))
    ]
    return Overview(
        today=today,
        site=ScopeBalance("All sections", None, _windows(tallies, today, None)),
        sections=[ScopeBalance(s.name, s, _windows(tallies, today, s.pk)) for s in sections],
        series=series,
    )


def section_balance(*, section: Category, now: datetime | None = None) -> ScopeBalance:
    """One section's balance over each window: one query."""
    today = local_today(now)
    tallies = _tallies(today=today, section_ids=[section.pk])
    return ScopeBalance(section.name, section, _windows(tallies, today, section.pk))


@dataclass(frozen=True)
class OutletShare:
    """How many of a section's live stories in the window cite an outlet (once each, however often)."""

    section_name: str
    section_slug: str
    outlet_name: str
    outlet_slug: str
    citing: int
    stories: int

    @property
    def percent(self) -> int:
        return round(100 * self.citing / self.stories) if self.stories else 0


def _share_window(now: datetime | None) -> tuple[datetime, datetime]:
    today = local_today(now)
    return day_start(first_day(today, SHARE_DAYS)), day_start(today + timedelta(days=1))


def outlet_shares(*, source: Source, now: datetime | None = None) -> list[OutletShare]:
    """For each section with live stories in the last SHARE_DAYS days, the share of them citing
    `source`, in section order: one query, reading only the window's stories and their citations."""
    since, until = _share_window(now)
    # Whether a window's story cites the outlet: a scalar subquery, run per story on the citations'
    # story index. A join to the citations (or an EXISTS) left the planner free to hash every
    # citation in the archive, which PostgreSQL did when its statistics made 60,000 rows look
    # cheaper than a few hundred lookups (the EXPLAIN tests then failed or passed by their order); a
    # join on this outlet's citations alone reads its whole archive. The outlet is compared as
    # `source_id + 0`, which no index holds: given a plain `source_id =`, SQLite walked the outlet's
    # citations for every story (65 s for 21,600 stories in the window at 30,000; now well under 1 s).
    cites = (
        ArticleSource.objects.filter(article=OuterRef("pk"))
        .annotate(outlet=F("source_id") + Value(0))
        .filter(outlet=source.pk)
        .order_by()
        .values("pk")[:1]
    )
    rows = (
        Article.objects.published()
        .filter(published_at__gte=since, published_at__lt=until)
        .annotate(cites=Subquery(cites))
        .values("category_id", "category__name", "category__slug", "category__position")
        .annotate(stories=Count("pk"), citing=Count("pk", filter=Q(cites__isnull=False)))
        .order_by("category__position", "category__name")
    )
    return [
        OutletShare(
            row["category__name"],
            row["category__slug"],
            source.name,
            source.slug,
            row["citing"],
            row["stories"],
        )
        for row in rows
    ]


def top_outlets(*, overview: Overview, limit: int = TOP_OUTLETS) -> dict[int, list[OutletShare]]:
    """Per section, the `limit` outlets cited by most of its live stories over the last SHARE_DAYS
    days (ties by name), with their share: two queries whatever the number of outlets and stories
    (one when the window cites none), the window's stories with their outlets, then the names of the
    outlets that may rank. The sections' story counts are the overview's SHARE_DAYS-day tallies."""
    since = day_start(first_day(overview.today, SHARE_DAYS))
    until = day_start(overview.today + timedelta(days=1))
    stories = {
        scope.section.pk: next(w.tally.stories for w in scope.windows if w.days == SHARE_DAYS)
        for scope in overview.sections
    }
    # Each window story's outlets read by a scalar subquery, which PostgreSQL and SQLite always run per
    # story on the citations' story index. A join to the citations (ranked in the database) let
    # PostgreSQL hash every citation in the archive whenever its statistics made that look cheaper
    # (60,233 rows read at 30,000 stories, the EXPLAIN test failing or passing by the tests' order).
    outlets = (
        ArticleSource.objects.filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(ids=StringAgg(Cast("source_id", CharField()), Value(",")))
        .values("ids")
    )
    rows = (
        Article.objects.published()
        .filter(published_at__gte=since, published_at__lt=until)
        .annotate(outlets=Subquery(outlets))
        .filter(outlets__isnull=False)
        .values_list("category_id", "outlets")
    )
    citing: dict[int, Counter] = {pk: Counter() for pk in stories}
    for section_id, ids in rows:
        if section_id in citing:  # a section added since the overview's query is not on the page
            citing[section_id].update({int(pk) for pk in ids.split(",")})  # an outlet once a story
    # The outlets that may rank: those cited at least as often as the section's limit-th.
    contenders = set()
    for counts in citing.values():
        ranked = counts.most_common()
        if ranked:
            floor = ranked[min(limit, len(ranked)) - 1][1]
            contenders.update(pk for pk, n in ranked if n >= floor)
    named = Source.objects.filter(pk__in=contenders).values_list("pk", "name", "slug") if contenders else []
    names = {pk: (name, slug) for pk, name, slug in named}
    sections = {scope.section.pk: scope.section for scope in overview.sections}
    top: dict[int, list[OutletShare]] = {}
    for pk, section in sections.items():
        ranked = sorted(
            ((n, *names[source], source) for source, n in citing[pk].items() if source in names),
            key=lambda row: (-row[0], row[1], row[3]),  # most cited first, ties by name
        )
        top[pk] = [
            OutletShare(
                section.name,
                section.slug,
                name,
                slug,
                n,
                # A story gone live between the two queries must not make a share pass 100%.
                max(stories[pk], n),
            )
            for n, name, slug, _ in ranked[:limit]
        ]
    return top
