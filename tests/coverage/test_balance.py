"""Balance over time (coverage.balance): hand-worked numbers over the last 7 and 30 local days, only
live stories counted, and a fixed number of queries whatever the size of the archive."""

from datetime import date, timedelta

import pytest
from freezegun import freeze_time

from articles.models import Article, ArticleSource, Category
from coverage import balance
from coverage.tallies import Tally
from tests.coverage.balance_data import NOW, TODAY
from tests.coverage.newsroom import story, utc
from tests.factories import CategoryFactory
from tests.scale.archive import EVERY_TWO_MINUTES, build_archive

pytestmark = pytest.mark.django_db


def windows(scope) -> dict[int, Tally]:
    return {w.days: w.tally for w in scope.windows}


def percents(tally) -> list[int]:
    return [s.percent for s in balance.segments(tally)]


@freeze_time(NOW)
def test_overview_by_hand(balance_newsroom, django_assert_num_queries):
    with django_assert_num_queries(2):  # the sections, the tallies
        summary = balance.overview()
    assert summary.today == TODAY
    assert windows(summary.site) == {
        7: Tally(stories=4, left=3, center=4, right=2),
        30: Tally(stories=6, left=5, center=4, right=5),
    }
    by_name = {scope.name: scope for scope in summary.sections}
    assert windows(by_name["World"]) == {
        7: Tally(stories=2, left=2, center=3, right=1),
        30: Tally(stories=4, left=4, center=3, right=4),
    }
    assert windows(by_name["Politics"]) == {
        7: Tally(stories=2, left=1, center=1, right=1),
        30: Tally(stories=2, left=1, center=1, right=1),
    }
    assert not by_name["Crypto"].rated and windows(by_name["Crypto"])[30] == Tally()
    # Whole percentages by largest remainder: 2/6, 3/6, 1/6 -> 33, 50, 17; 3/9, 4/9, 2/9 -> 33, 45, 22.
    assert percents(windows(by_name["World"])[7]) == [33, 50, 17]
    assert percents(windows(summary.site)[7]) == [33, 45, 22]
    assert percents(windows(by_name["Politics"])[7]) == [34, 33, 33]  # ties go left first
    assert percents(windows(by_name["Crypto"])[7]) == []


@freeze_time(NOW)
def test_the_daily_series_holds_the_last_30_days_oldest_first(balance_newsroom):
    series = balance.overview().series
    assert [d.day for d in series] == [date(2026, 6, 16) + timedelta(days=i) for i in range(30)]
    by_day = {d.day: d.tally for d in series}
    assert by_day[date(2026, 6, 16)] == Tally(stories=1, left=1)
    assert by_day[date(2026, 7, 8)] == Tally(stories=1, left=1, right=3)
    assert by_day[date(2026, 7, 9)] == Tally(stories=1, center=2, right=1)
    assert by_day[date(2026, 7, 12)] == Tally(stories=1)
    assert by_day[date(2026, 7, 15)] == Tally(stories=1, left=2, center=1)  # not the scheduled story
    assert by_day[date(2026, 7, 1)] == Tally() and series[14].segments == []
    total = Tally(*(sum(getattr(d.tally, f) for d in series) for f in ("stories", "left", "center", "right")))
    assert total == windows(balance.overview().site)[30]


@freeze_time(NOW)
def test_one_section_in_one_query(balance_newsroom, django_assert_num_queries):
    with django_assert_num_queries(1):
        scope = balance.section_balance(section=balance_newsroom["world"])
    assert scope.name == "World" and scope.section == balance_newsroom["world"]
    assert windows(scope) == {
        7: Tally(stories=2, left=2, center=3, right=1),
        30: Tally(stories=4, left=4, center=3, right=4),
    }
    assert scope.windows[0].description == "33% left (2), 50% center (3), 17% right (1)"


@freeze_time(NOW)
def test_nothing_rated_is_said_so():
    CategoryFactory(slug="world")
    story(at=utc(2026, 7, 14, 9), rated=False)
    summary = balance.overview()
    assert windows(summary.site)[7] == Tally(stories=1)
    assert not summary.site.rated
    assert summary.site.windows[0].description == "no rated outlets"
    assert all(d.segments == [] for d in summary.series)


@freeze_time(NOW)
def test_an_outlets_share_of_each_section(balance_citations, django_assert_num_queries):
    with django_assert_num_queries(1):
        shares = balance.outlet_shares(source=balance_citations["alpha"])
    assert [(s.section_name, s.citing, s.stories, s.percent) for s in shares] == [
        ("World", 2, 4, 50),
        ("Politics", 0, 2, 0),
    ]
    charlie = balance.outlet_shares(source=balance_citations["charlie"])
    assert [(s.section_slug, s.citing, s.stories, s.percent) for s in charlie] == [
        ("world", 1, 4, 25),
        ("politics", 1, 2, 50),
    ]


@freeze_time(NOW)
def test_each_sections_top_outlets_in_two_queries(balance_citations, django_assert_num_queries):
    summary = balance.overview()
    with django_assert_num_queries(2):  # the window's stories with their outlets, the ranked outlets' names
        top = balance.top_outlets(overview=summary, limit=2)
    world, politics = Category.objects.get(slug="world"), Category.objects.get(slug="politics")
    assert [(s.outlet_name, s.citing, s.stories) for s in top[world.pk]] == [("Alpha", 2, 4), ("Bravo", 2, 4)]
    assert [(s.outlet_name, s.citing, s.percent) for s in top[politics.pk]] == [("Charlie", 1, 50)]
    assert top[Category.objects.get(slug="crypto").pk] == []
    # The same numbers as the outlet's own page.
    alpha = {
        s.section_slug: (s.citing, s.stories)
        for s in balance.outlet_shares(source=balance_citations["alpha"])
    }
    assert alpha["world"] == (2, 4)


def check_balance_queries(assert_num_queries) -> None:
    """The overview, the top outlets, an outlet's shares and a section's balance each in its fixed number
    of queries, with numbers that add up to the archive's."""
    source = ArticleSource.objects.first().source
    with assert_num_queries(2):
        summary = balance.overview()
    with assert_num_queries(2):
        top = balance.top_outlets(overview=summary)
    with assert_num_queries(1):
        shares = balance.outlet_shares(source=source)
    with assert_num_queries(1):
        balance.section_balance(section=summary.sections[0].section)
    since = balance.day_start(balance.first_day(summary.today, 30))
    assert (
        summary.site.windows[1].tally.stories
        == Article.objects.published().filter(published_at__gte=since).count()
    )
    assert all(len(outlets) == balance.TOP_OUTLETS for outlets in top.values())
    assert sum(s.stories for s in shares) == summary.site.windows[1].tally.stories


def test_query_counts_do_not_grow_with_the_archive(django_assert_num_queries):
    """100 stories here, 30,000 in tests/scale/test_busy_month.py; two minutes apart: the 30-day window
    holds every story of the small archive and 21,600 of the big."""
    build_archive(stories=100, spacing=EVERY_TWO_MINUTES)
    check_balance_queries(django_assert_num_queries)
