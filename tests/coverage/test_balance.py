"""Balance over time (coverage.balance): hand-worked numbers over the last 7 and 30 local days, only
live stories counted, and a fixed number of queries whatever the size of the archive."""

import random
from datetime import date, timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from articles.models import Article, ArticleSource, BiasRating, Category
from coverage import balance
from coverage.tallies import Tally
from tests.coverage.newsroom import story, utc
from tests.factories import ArticleSourceFactory, CategoryFactory, SourceFactory

pytestmark = pytest.mark.django_db

# 13:00 in London (British Summer Time): today is the 15th; the last 7 days start on the 9th at
# 00:00 BST (the 8th, 23:00 UTC), the last 30 on 16 June.
NOW = utc(2026, 7, 15, 12)
TODAY = date(2026, 7, 15)


@pytest.fixture
def newsroom():
    """World and Politics stories inside and outside the windows, and stories that must never count."""
    world, politics = CategoryFactory(slug="world"), CategoryFactory(slug="politics")
    story(at=utc(2026, 7, 15, 8), left=2, center=1)
    story(at=utc(2026, 7, 8, 23, 30), center=2, right=1)  # 00:30 on the 9th in London: in the 7 days
    story(at=utc(2026, 7, 8, 22, 30), left=1, right=3)  # 23:30 on the 8th in London: 30 days only
    story(at=utc(2026, 6, 16, 0, 10), left=1)  # 01:10 on 16 June: the 30 days' first day
    story(at=utc(2026, 6, 15, 22, 50), left=7)  # 23:50 on 15 June: outside both
    story(section="politics", at=utc(2026, 7, 13, 9), left=1, center=1, right=1)
    story(section="politics", at=utc(2026, 7, 12, 9), rated=False)  # a live story without voices
    # Never counted: a draft, a scheduled story, one taken back to draft after going live.
    story(left=9, draft=True)
    story(at=utc(2026, 7, 15, 18), right=9)
    story(at=utc(2026, 7, 14, 9), right=9, status=Article.Status.DRAFT)
    return {"world": world, "politics": politics}


def windows(scope) -> dict[int, Tally]:
    return {w.days: w.tally for w in scope.windows}


def percents(tally) -> list[int]:
    return [s.percent for s in balance.segments(tally)]


@freeze_time(NOW)
def test_overview_by_hand(newsroom, django_assert_num_queries):
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
def test_the_daily_series_holds_the_last_30_days_oldest_first(newsroom):
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
def test_one_section_in_one_query(newsroom, django_assert_num_queries):
    with django_assert_num_queries(1):
        scope = balance.section_balance(section=newsroom["world"])
    assert scope.name == "World" and scope.section == newsroom["world"]
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


@pytest.fixture
def citations(newsroom):
    """Outlets cited by World and Politics stories, inside and outside the 30 days."""
    a, b, c = (SourceFactory(name=name) for name in ("Alpha", "Bravo", "Charlie"))

    def cite(article, *outlets):
        for outlet in outlets:
            ArticleSourceFactory(article=article, source=outlet)

    published = Article.objects.published(now=NOW)
    live = list(
        published.filter(category=newsroom["world"], published_at__gte=utc(2026, 6, 15, 23)).order_by(
            "-published_at"
        )
    )
    assert len(live) == 4  # the World stories of the last 30 days
    cite(live[0], a, a, b)  # Alpha twice (two of its pieces): one story
    cite(live[1], a, c)
    cite(live[2], b)
    old = Article.objects.get(published_at=utc(2026, 6, 15, 22, 50))
    cite(old, c)
    for hidden in Article.objects.exclude(pk__in=published):
        cite(hidden, a, b, c)
    politics = published.filter(category=newsroom["politics"]).order_by("pk")
    cite(politics[0], c)
    return {"alpha": a, "bravo": b, "charlie": c}


@freeze_time(NOW)
def test_an_outlets_share_of_each_section(citations, django_assert_num_queries):
    with django_assert_num_queries(1):
        shares = balance.outlet_shares(source=citations["alpha"])
    assert [(s.section_name, s.citing, s.stories, s.percent) for s in shares] == [
        ("World", 2, 4, 50),
        ("Politics", 0, 2, 0),
    ]
    charlie = balance.outlet_shares(source=citations["charlie"])
    assert [(s.section_slug, s.citing, s.stories, s.percent) for s in charlie] == [
        ("world", 1, 4, 25),
        ("politics", 1, 2, 50),
    ]


@freeze_time(NOW)
def test_each_sections_top_outlets_in_one_query(citations, django_assert_num_queries):
    summary = balance.overview()
    with django_assert_num_queries(1):
        top = balance.top_outlets(overview=summary, limit=2)
    world, politics = Category.objects.get(slug="world"), Category.objects.get(slug="politics")
    assert [(s.outlet_name, s.citing, s.stories) for s in top[world.pk]] == [("Alpha", 2, 4), ("Bravo", 2, 4)]
    assert [(s.outlet_name, s.citing, s.percent) for s in top[politics.pk]] == [("Charlie", 1, 50)]
    assert top[Category.objects.get(slug="crypto").pk] == []
    # The same numbers as the outlet's own page.
    alpha = {s.section_slug: (s.citing, s.stories) for s in balance.outlet_shares(source=citations["alpha"])}
    assert alpha["world"] == (2, 4)


def bulk_archive(n: int, *, spacing: timedelta) -> None:
    """n stories (one in 50 a draft), each citing two of twelve outlets, every other one rated."""
    rng = random.Random(13)
    sections = list(Category.objects.all())
    outlets = [SourceFactory(bias=lean) for lean in ["left", "center", "right", "lean_left"] * 3]
    now = timezone.now()
    stories = Article.objects.bulk_create(
        Article(
            title=f"Archive story {i}",
            slug=f"archive-story-{i}",
            category=sections[i % len(sections)],
            summary="Text.",
            summary_html="<p>Text.</p>",
            status=Article.Status.PUBLISHED if i % 50 else Article.Status.DRAFT,
            published_at=now - spacing * i - timedelta(minutes=1),
        )
        for i in range(n)
    )
    ArticleSource.objects.bulk_create(
        ArticleSource(article=story, source=outlet, url=f"https://x.example/{story.pk}/{k}", position=k)
        for story in stories
        for k, outlet in enumerate(rng.sample(outlets, 2))
    )
    BiasRating.objects.bulk_create(
        BiasRating(article=s, left=50, center=50, right=0, outlets_left=1, outlets_center=1)
        for s in stories[::2]
    )


@pytest.mark.parametrize("n", [100, 30_000], ids=["100-stories", "30000-stories"])
def test_query_counts_do_not_grow_with_the_archive(n, django_assert_num_queries):
    # Two minutes apart: the 30-day window holds every story of the small archive and 21,600 of the big.
    bulk_archive(n, spacing=timedelta(minutes=2))
    source = ArticleSource.objects.first().source
    with django_assert_num_queries(2):
        summary = balance.overview()
    with django_assert_num_queries(1):
        top = balance.top_outlets(overview=summary)
    with django_assert_num_queries(1):
        shares = balance.outlet_shares(source=source)
    with django_assert_num_queries(1):
        balance.section_balance(section=summary.sections[0].section)
    since = balance.day_start(balance.first_day(summary.today, 30))
    assert (
        summary.site.windows[1].tally.stories
        == Article.objects.published().filter(published_at__gte=since).count()
    )
    assert all(len(outlets) == balance.TOP_OUTLETS for outlets in top.values())
    assert sum(s.stories for s in shares) == summary.site.windows[1].tally.stories
