"""The outlet directory (/sources/) and the outlet page: leans, rating timelines, countries, recent
counts, the lean filter, pages, and a fixed number of queries whatever the number of outlets and stories."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Source, SourceRating
from articles.site import outlets
from articles.templatetags.outlets import MAX_YEARS, MIN_WIDTH, Scale, timeline
from tests.factories import ArticleFactory, ArticleSourceFactory, SourceFactory
from tests.scale.archive import EVERY_TWO_MINUTES, LEANS, build_archive

pytestmark = pytest.mark.django_db

DIRECTORY = "/sources/"
SPAN = re.compile(r'<rect class="lean-fill-(\w+)" x="([\d.]+)%" y="0" width="([\d.]+)%"')


@pytest.fixture(autouse=True)
def uncached(settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # each test's renders are its own; caching is tested apart


def outlet(*, history=(), **fields) -> Source:
    """An outlet with exactly the dated ratings given as (lean, day) pairs (none from the factory)."""
    source = SourceFactory(**fields)
    source.ratings.all().delete()
    for lean, day in history:
        SourceRating.objects.create(source=source, lean=lean, effective_from=day, method="Test review")
    return source


def cite(source, *, days_ago=1, **story):
    article = ArticleFactory(published_at=timezone.now() - timedelta(days=days_ago), **story)
    ArticleSourceFactory(article=article, source=source)
    return article


def rows(html: str) -> list[str]:
    return re.findall(r'<a class="outlet-name" href="[^"]+">([^<]+)</a>', html)


def test_the_directory_lists_every_outlet_by_name_with_its_lean_country_and_recent_stories(client):
    herald = outlet(name="Harbour Herald", bias="lean_left", country="GB")
    outlet(name="Alpine Courier", bias="right", country="CH")
    outlet(name="Zenith Daily", bias="unrated")
    for days in (1, 5, 29):
        cite(herald, days_ago=days)
    assert reverse("articles:sources") == DIRECTORY
    response = client.get(DIRECTORY)
    assert response.status_code == 200
    html = response.content.decode()
    assert rows(html) == ["Alpine Courier", "Harbour Herald", "Zenith Daily"]
    assert f'href="{herald.get_absolute_url()}"' in html
    assert '<span class="outlet-lean lean-text-lean_left">Lean left</span>' in html
    assert '<span class="outlet-lean lean-text-unrated">Unrated</span>' in html
    assert "United Kingdom" in html and "Switzerland" in html and "Country not given" in html
    assert "3 stories in 30 days" in html and "0 stories in 30 days" in html


def test_every_page_links_to_the_directory_and_the_directory_to_the_methodology(client):
    story = cite(outlet(name="Harbour Herald"))
    for url in ("/", story.get_absolute_url(), DIRECTORY):
        footer = client.get(url).content.decode().split('<footer class="site-footer">')[1]
        assert f'<a href="{DIRECTORY}">Every outlet and its rating</a>' in footer, url
    lede = client.get(DIRECTORY).content.decode().split('<p class="lede">')[1].split("</p>")[0]
    assert f'<a href="{reverse("coverage:methodology")}">How outlets are rated</a>' in lede


def test_recent_stories_are_live_ones_of_the_last_30_days_each_counted_once(client):
    herald = outlet(name="Harbour Herald")
    twice = cite(herald, days_ago=2)
    ArticleSourceFactory(article=twice, source=herald)  # a second piece of it in the same story
    cite(herald, days_ago=29)
    cite(herald, days_ago=31)  # too old
    draft = ArticleFactory(draft=True)
    scheduled = ArticleFactory(scheduled=True)
    for hidden in (draft, scheduled):
        ArticleSourceFactory(article=hidden, source=herald)
    assert outlets.recent_story_counts([herald.pk]) == {herald.pk: 2}
    assert "2 stories in 30 days" in client.get(DIRECTORY).content.decode()
    assert outlets.recent_story_counts([]) == {}


@pytest.mark.parametrize(
    ("lean", "shown"),
    [
        ("left", ["Left Post"]),
        ("lean_right", ["Lean Right Times", "Other Lean Right"]),
        ("unrated", ["Unrated Gazette"]),
        ("center", []),
        ("", ["Lean Right Times", "Left Post", "Other Lean Right", "Unrated Gazette"]),
    ],
)
def test_the_lean_filter(client, lean, shown):
    outlet(name="Left Post", bias="left")
    outlet(name="Lean Right Times", bias="lean_right")
    outlet(name="Other Lean Right", bias="lean_right")
    outlet(name="Unrated Gazette", bias="unrated")
    response = client.get(DIRECTORY, {"lean": lean})
    assert response.status_code == 200
    html = response.content.decode()
    assert rows(html) == shown
    current = re.findall(r'<a href="([^"]*)" aria-current="page">([^<]+)</a>', html)
    expected = dict(outlets.LEANS).get(lean, "Every lean")
    assert [label for _, label in current] == [expected]
    if not shown:
        assert "No outlet’s lean is center today." in html


@pytest.mark.parametrize("bad", ["middle", "LEFT", "left ", "<script>", "x" * 500, "unrated\x00"])
def test_a_lean_that_does_not_exist_is_a_400_that_names_the_leans(client, bad):
    outlet(name="Left Post", bias="left")
    response = client.get(DIRECTORY, {"lean": bad})
    if bad == "left ":  # stripped: the reader meant "left"
        assert response.status_code == 200
        return
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not a lean: choose one of left, lean_left, center, lean_right, right, unrated" in html
    assert "<script>" not in html


def test_pages_of_outlets(client):
    Source.objects.bulk_create(
        Source(
            name=f"Outlet {i:03d}", slug=f"outlet-x{i}", domain=f"x{i}.example", homepage="https://x.example/"
        )
        for i in range(outlets.PER_PAGE * 2 + 3)
    )
    first = client.get(DIRECTORY).content.decode()
    assert len(rows(first)) == outlets.PER_PAGE and rows(first)[0] == "Outlet 000"
    assert "Page 1 of 3" in first and 'rel="next" href="?page=2"' in first and 'rel="prev"' not in first
    second = client.get(DIRECTORY, {"page": 2}).content.decode()
    assert rows(second)[0] == f"Outlet {outlets.PER_PAGE:03d}"
    assert f'rel="prev" href="{DIRECTORY}"' in second and 'rel="next" href="?page=3"' in second
    last = client.get(DIRECTORY, {"page": 3}).content.decode()
    assert rows(last) == ["Outlet 100", "Outlet 101", "Outlet 102"] and 'rel="next"' not in last
    assert client.get(DIRECTORY, {"page": 4}).status_code == 404
    for bad in ("0", "two", "-1", "9" * 30):
        assert client.get(DIRECTORY, {"page": bad}).status_code == 400
    filtered = client.get(DIRECTORY, {"lean": "unrated", "page": 2}).content.decode()
    assert 'href="?lean=unrated&amp;page=3"' in filtered  # the filter carries on from page to page
    assert 'href="?lean=unrated"' in filtered  # back to its first page


def test_the_timeline_draws_each_rating_until_the_next_one_and_says_it_in_words(client):
    today = timezone.localdate()
    start = today - timedelta(days=1000)
    change = today - timedelta(days=250)
    outlet(name="Harbour Herald", bias="left", history=[("center", start), ("left", change)])
    outlet(name="Zenith Daily", bias="unrated")
    html = client.get(DIRECTORY).content.decode()
    spans = SPAN.findall(html)
    assert [lean for lean, _, _ in spans] == ["center", "left"]
    (_, x1, w1), (_, x2, w2) = spans
    scale = Scale(date(start.year, 1, 1), today + timedelta(days=1))  # the page's: from its first year
    assert float(x1) == pytest.approx(scale.x(start), abs=0.01)
    assert float(x2) == pytest.approx(scale.x(change), abs=0.01)
    assert float(x1) + float(w1) + float(w2) == pytest.approx(100)
    label = re.search(r'class="timeline-drawing" role="img" aria-label="([^"]+)"', html)[1]
    assert label == (
        f"Rating history: Center from {start:%-d %B %Y} to {change - timedelta(days=1):%-d %B %Y}; "
        f"Left from {change:%-d %B %Y}, in force today."
    )
    assert html.count("<svg") == 1 and "No rating yet" in html  # Zenith has no history
    assert f"runs on one scale, from {start.year} to today." in html


def test_every_row_of_a_directory_page_shares_one_scale(client):
    today = timezone.localdate()
    same_day, older = today - timedelta(days=400), date(today.year - 6, 3, 1)
    outlet(name="Old Times", bias="left", history=[("center", older), ("left", same_day)])
    outlet(name="New Post", bias="right", history=[("right", same_day)])
    html = client.get(DIRECTORY).content.decode()
    new_post, old_times = (SPAN.findall(row) for row in html.split('<li class="outlet">')[1:])
    assert new_post[0][1] == old_times[1][1]  # the same day at the same place in both rows
    scale = Scale(date(today.year - 6, 1, 1), today + timedelta(days=1))  # from the page's first year
    assert float(old_times[0][1]) == pytest.approx(scale.x(older), abs=0.01)
    assert float(new_post[0][1]) == pytest.approx(scale.x(same_day), abs=0.01)


def test_the_page_scale_reaches_back_ten_years_and_says_older_ratings_are_left_out(client):
    today = timezone.localdate()
    moved = date(today.year - 12, 6, 1)  # in force from before the scale's start until today
    history = [("right", date(1990, 1, 1)), ("center", date(2000, 1, 1)), ("left", moved)]
    outlet(name="Ancient Gazette", bias="left", history=history)
    html = client.get(DIRECTORY).content.decode()
    first = today.year - MAX_YEARS
    assert f"from {first} to today; ratings before {first} are left out of the drawings" in html
    assert [(lean, x) for lean, x, _ in SPAN.findall(html)] == [("left", "0.000")]  # the older two not drawn
    label = re.search(r'role="img" aria-label="([^"]+)"', html)[1]
    assert label.startswith("Rating history: Right from 1 January 1990 to 31 December 1999; Center from")


def test_a_recent_change_is_drawn_wide_enough_to_see():
    today = date(2026, 6, 1)
    history = [
        SourceRating(lean="center", effective_from=date(2012, 1, 1)),
        SourceRating(lean="left", effective_from=date(2026, 5, 25)),  # a week ago: 0.1% of the time shown
        SourceRating(lean="lean_left", effective_from=today),
    ]
    spans = timeline(history, today)["spans"]
    assert [s.lean for s in spans] == ["center", "left", "lean_left"]
    widths = [float(s.width) for s in spans]
    assert min(widths) == pytest.approx(MIN_WIDTH) and sum(widths) == pytest.approx(100)
    assert [float(s.x) for s in spans] == pytest.approx([0, widths[0], widths[0] + widths[1]])
    # an outlet first rated last week, on a page whose scale is ten years: its start moves left to show
    scale = Scale(date(2016, 1, 1), today + timedelta(days=1))
    (lone,) = timeline([SourceRating(lean="right", effective_from=date(2026, 5, 25))], today, scale)["spans"]
    assert (float(lone.x), float(lone.width)) == pytest.approx((100 - MIN_WIDTH, MIN_WIDTH))


def test_timeline_of_one_rating_a_rating_to_come_and_the_year_ticks():
    today = date(2026, 6, 1)
    only = timeline([SourceRating(lean="right", effective_from=today)], today)
    assert [(s.x, s.width) for s in only["spans"]] == [("0.000", "100.000")]
    assert only["description"] == "Rating history: Right from 1 June 2026, in force today."
    ahead = SourceRating(lean="center", effective_from=date(2026, 7, 1))
    later = timeline([ahead, SourceRating(lean="left", effective_from=date(2001, 1, 1))], today)
    assert [s.lean for s in later["spans"]] == ["left", "center"]
    assert later["description"].endswith("Center from 1 July 2026 (not yet in force).")
    assert not later["ends_today"] and later["scale"].last == date(2026, 7, 1)
    # 25 years: every fifth marked, 2002 left unnamed so near the left edge
    assert [(t["year"], t["label"]) for t in later["ticks"]] == [
        (2002, ""), (2007, "2007"), (2012, "2012"), (2017, "2017"), (2022, "2022")
    ]  # fmt: skip
    ticks = timeline([SourceRating(lean="left", effective_from=date(2003, 1, 1))], today)["ticks"]
    assert [t["year"] for t in ticks] == list(range(2004, 2027))  # 23 years: a mark under each
    assert [t["label"] for t in ticks if t["label"]] == ["2008", "2012", "2016", "2020", "2024"]
    century = timeline([SourceRating(lean="left", effective_from=date(1926, 1, 1))], today)["ticks"]
    assert len(century) == 6 and all(t["year"] % 17 == 1927 % 17 for t in century)  # named years only
    assert timeline([], today) == {"spans": []}


def test_the_outlet_page_shows_its_history_country_recent_stories_and_stories(client):
    today = timezone.localdate()
    herald = outlet(
        name="Harbour Herald",
        bias="left",
        country="NZ",
        history=[("center", today - timedelta(days=2000)), ("left", today - timedelta(days=300))],
    )
    SourceRating.objects.filter(lean="left").update(
        rater_kind="external", rater_name="Media Lens", confidence="high", note="Moved after a review",
        link="https://ratings.example/herald",
    )  # fmt: skip
    story = cite(herald, days_ago=3, title="Harbour talks resume")
    cite(herald, days_ago=40)
    html = client.get(herald.get_absolute_url()).content.decode()
    assert "New Zealand" in html
    assert "1 story in the last 30 days cited Harbour Herald." in html
    assert story.title in html
    assert 'class="timeline timeline-large"' in html and html.count('class="lean-fill-') == 2
    table = re.search(r'<table class="ratings-table">(.+?)</table>', html, re.S)[1]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)]
    assert cells[:6] == [
        "Left",
        f"{today - timedelta(days=300):%-d %b %Y}",
        "Media Lens",
        "Test review",
        "High",
        "Moved after a reviewSource of the rating",
    ]
    assert cells[6] == "Center" and cells[8].endswith("newsroom") and cells[11] == "—"
    assert 'href="https://ratings.example/herald" rel="noopener noreferrer"' in table
    # a phone stacks each rating, every value under its column's name
    labels = re.findall(r'<td data-label="([^"]+)">', table)
    assert labels[:6] == ["Lean", "In force from", "Rated by", "Method", "Confidence", "Note"]


def test_an_unrated_outlet_page_says_so(client):
    lone = outlet(name="Lone Voice", bias="unrated")
    html = client.get(lone.get_absolute_url()).content.decode()
    assert "Lone Voice has no rating yet" in html and "<table" not in html
    assert '<p class="lede">Not rated yet · ' in html and "Current lean" not in html
    assert "0 stories in the last 30 days cited Lone Voice." in html


def test_the_lean_filter_is_part_of_the_cached_page(client, settings, django_assert_num_queries):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 60
    outlet(name="Left Post", bias="left")
    outlet(name="Right Times", bias="right")
    assert rows(client.get(DIRECTORY, {"lean": "left"}).content.decode()) == ["Left Post"]
    right = client.get(DIRECTORY, {"lean": "right"})
    assert right["X-Page-Cache"] == "miss" and rows(right.content.decode()) == ["Right Times"]
    with django_assert_num_queries(0):
        again = client.get(DIRECTORY, {"lean": "right", "utm_source": "x"})
    assert again["X-Page-Cache"] == "hit" and again.content == right.content


def test_a_new_rating_shows_at_once_on_both_pages(client, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 60
    herald = outlet(name="Harbour Herald", bias="center", history=[("center", date(2020, 1, 1))])
    for url in (DIRECTORY, herald.get_absolute_url()):
        assert client.get(url).content.decode().count('class="lean-fill-') == 1
    SourceRating.objects.create(
        source=herald, lean="left", effective_from=date(2024, 1, 1), method="Second review"
    )
    for url in (DIRECTORY, herald.get_absolute_url()):
        assert client.get(url).content.decode().count('class="lean-fill-') == 2, url


# Queries per render, whatever the number of outlets and stories:
# 1 the navigation  2 the count of outlets (kept per content version)  3 the page of outlets
# 4 their ratings  5 their stories of the last 30 days, one GROUP BY
DIRECTORY_QUERIES = 5
# 1 the outlet  2 its ratings  3 its stories of the last 30 days  4 the navigation
# 5 its share of each section's stories (coverage_tags)  6 the page of stories
OUTLET_QUERIES = 6


def check_directory_queries(client, assert_num_queries, *, n_outlets: int, first: Source) -> None:
    """The directory's pages (all, a lean, the second) in their fixed queries with every outlet's two
    ratings drawn, and `first`'s page in its own; `n_outlets` outlets (tests.scale.archive), no other."""
    per_page = outlets.PER_PAGE
    for url, expected, shown in [
        (DIRECTORY, DIRECTORY_QUERIES, min(per_page, n_outlets)),
        # A count of its own; the archive's outlets take the leans in turn.
        (f"{DIRECTORY}?lean=left", DIRECTORY_QUERIES, min(per_page, n_outlets // len(LEANS))),
        (f"{DIRECTORY}?page=2", DIRECTORY_QUERIES - 1, min(per_page, n_outlets - per_page)),  # count kept
    ]:
        with assert_num_queries(expected):
            response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.count('class="outlet"') == shown
        assert html.count('class="lean-fill-') == 2 * shown  # every outlet's two ratings drawn
    with assert_num_queries(OUTLET_QUERIES):
        assert client.get(first.get_absolute_url()).status_code == 200


def test_queries_per_page_do_not_grow_with_outlets_or_stories(client, django_assert_num_queries, settings):
    """60 outlets and 100 stories here, 2,000 and 30,000 in tests/scale/test_busy_month.py."""
    settings.NEWSAPP_FRAGMENT_CACHE = False  # every query of a render from scratch
    archive = build_archive(stories=100, spacing=EVERY_TWO_MINUTES, outlets=60)
    check_directory_queries(client, django_assert_num_queries, n_outlets=60, first=archive.outlet(0))


def test_recent_counts_at_scale_match_a_count_story_by_story():
    # An hour apart: 720 of the 3,000 stories in the last 30 days.
    archive = build_archive(stories=3_000, spacing=timedelta(hours=1), outlets=60)
    sources = [archive.outlet(i) for i in range(10)]
    since = outlets.recent_since(timezone.now())
    counts = outlets.recent_story_counts([s.pk for s in sources])
    for source in sources:
        recent = Article.objects.published().filter(published_at__gt=since)
        expected = recent.filter(article_sources__source=source).distinct()
        assert counts.get(source.pk, 0) == expected.count() > 0
