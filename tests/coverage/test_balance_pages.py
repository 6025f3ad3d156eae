"""/balance/ and the section pages' balance: the numbers worked by hand in test_balance.py, the chart
and its table saying the same, empty sites said so, fixed query counts (at 30,000 stories, and every
query on an index on PostgreSQL, in tests/scale/)."""

import re
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.urls import reverse
from freezegun import freeze_time

from tests.coverage.balance_data import NOW
from tests.coverage.newsroom import story, utc
from tests.factories import ArticleSourceFactory, SourceFactory
from tests.scale.archive import EVERY_TWO_MINUTES, build_archive

pytestmark = pytest.mark.django_db

BALANCE = reverse("coverage:balance")


def section_url(slug):
    return reverse("articles:section", kwargs={"section": slug})


class Figure(HTMLParser):
    """What a balance chart draws and what its table says: per bar, the sides' widths (in percent of
    the bar) or "empty"; per table row, the sides' percentages or "empty"."""

    def __init__(self):
        super().__init__()
        self.bars, self.rows, self.labels, self.captions = [], [], [], []
        self.in_table = self.in_caption = False
        self.depth = 0  # of <svg> elements inside the chart
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "svg" and "balance-chart" in classes:
            self.depth = 1
            self.labels.append(attrs.get("aria-label"))
            assert attrs.get("role") == "img"
        elif tag == "svg" and self.depth:
            self.depth += 1
            self.bars.append([])
        elif tag == "rect" and self.depth and "balance-empty" in classes:
            self.bars.append("empty")
        elif tag == "rect" and self.depth:
            self.bars[-1].append((classes[0][-1], int(attrs["width"])))
        elif tag == "table" and "balance-table" in classes and not self.rows:
            self.in_table = True
        elif tag == "caption" and self.in_table:
            self.in_caption = True
        elif tag == "tr" and self.in_table:
            self.rows.append([])
        elif tag == "td" and self.in_table and "balance-side" in classes:
            self.cell = attrs["data-side"]
        elif tag == "td" and self.in_table and "balance-none" in classes:
            self.rows[-1] = "empty"

    def handle_endtag(self, tag):
        if tag == "svg" and self.depth:
            self.depth -= 1
        if tag == "table":
            self.in_table = False
        if tag == "caption":
            self.in_caption = False
        if tag == "td":
            self.cell = None

    def handle_data(self, data):
        if self.in_caption and data.strip():
            self.captions.append(data.strip())
        if self.cell and (found := re.match(r"\s*(\d+)%", data)):
            self.rows[-1].append((self.cell, int(found[1])))

    def close(self):
        super().close()
        self.rows = [row for row in self.rows if row]  # the header row
        return self

    def drawn(self):
        """The table's rows as the chart draws them: a side of 0% has no rectangle."""
        return [row if row == "empty" else [(k, v) for k, v in row if v] for row in self.rows]


def figure(html: str) -> Figure:
    start = html.index('class="balance-chart"')
    parser = Figure()
    parser.feed(html[html.rindex("<svg", 0, start) :])
    return parser.close()


SITE_AND_SECTIONS = [
    # All sections, World, Politics: the last 7 then 30 days (test_balance.py works out the voices).
    [("l", 33), ("c", 45), ("r", 22)],  # 3, 4, 2 of 9
    [("l", 36), ("c", 28), ("r", 36)],  # 5, 4, 5 of 14: 35.7, 28.6, 35.7
    [("l", 33), ("c", 50), ("r", 17)],  # 2, 3, 1 of 6
    [("l", 37), ("c", 27), ("r", 36)],  # 4, 3, 4 of 11: 36.4, 27.3, 36.4 (a tie goes left)
    [("l", 34), ("c", 33), ("r", 33)],  # 1, 1, 1
    [("l", 34), ("c", 33), ("r", 33)],
    # Crypto, Business, Sports: nothing rated.
    *["empty"] * 6,
]


@freeze_time(NOW)
def test_balance_page_by_hand(client, balance_citations):
    response = client.get(BALANCE)
    assert response.status_code == 200
    html = response.content.decode()
    found = figure(html)
    assert found.rows == SITE_AND_SECTIONS
    assert found.bars == found.drawn()  # the chart draws what the table says
    assert found.captions == ["Outlet voices per side, site-wide and per section"]
    assert "Coverage balance by section" in found.labels[0]
    # Stories and voices beside the percentages; the hidden stories' outlets (9 a side) nowhere.
    assert re.search(r"Last 30 days</th>\s*<td>6</td>\s*<td>14</td>", html)
    assert "(9)" not in html
    # The daily series: 30 columns, the days with rated voices drawn, the rest empty.
    series = html[html.index('class="balance-series"') : html.index('class="balance-details"')]
    assert series.count('preserveAspectRatio="none"') == 5  # 16 June, 8, 9, 13 and 15 July
    assert series.count('class="balance-empty"') == 25
    assert '<time datetime="2026-07-12">Sun 12 Jul</time>' in html
    # Each section's most cited outlets over the 30 days.
    outlets = html[html.index('id="balance-outlets"') :]
    assert re.search(r"Alpha</a></th>\s*<td>2 of 4</td>\s*<td>50%</td>", outlets)
    assert re.search(r"Charlie</a></th>\s*<td>1 of 2</td>\s*<td>50%</td>", outlets)
    assert "Crypto: no story in the last 30 days cites an outlet." in outlets


@freeze_time(NOW)
def test_a_section_page_shows_its_balance(client, balance_newsroom):
    html = client.get(section_url("world")).content.decode()
    found = figure(html)
    assert found.rows == SITE_AND_SECTIONS[2:4]
    assert found.bars == found.drawn()
    assert found.captions == ["Outlet voices per side in World"]
    assert found.labels == [
        "Coverage balance of World: last 7 days, 33% left (2), 50% center (3), 17% right (1); "
        "last 30 days, 37% left (4), 27% center (3), 36% right (4)"
    ]
    assert 'href="/balance/"' in html


@freeze_time(NOW)
def test_a_section_without_rated_stories_says_so(client, balance_newsroom):
    story(section="crypto", at=utc(2026, 7, 14, 9), rated=False)
    html = client.get(section_url("crypto")).content.decode()
    assert "No rated Crypto stories in the last 30 days: there is no balance to show yet." in html
    assert "balance-chart" not in html
    empty = client.get(section_url("sports"))
    assert empty.status_code == 200
    assert "No rated Sports stories in the last 30 days" in empty.content.decode()


def test_an_empty_site_says_so(client):
    response = client.get(BALANCE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "No rated stories were published in the last 30 days: there is no balance to show yet." in html
    assert "balance-chart" not in html
    assert "World: no story in the last 30 days cites an outlet." in html


def test_only_live_stories_count(client):
    hidden = SourceFactory(name="Hidden outlet")
    for traits in ({"draft": True}, {"scheduled": True}, {"unpublished": True}):
        ArticleSourceFactory(article=story(left=5, **traits), source=hidden)
    live = story(center=1)
    ArticleSourceFactory(article=live, source=SourceFactory(name="Live outlet"))
    html = client.get(BALANCE).content.decode()
    assert figure(html).rows[0] == [("l", 0), ("c", 100), ("r", 0)]
    assert "Live outlet" in html and "Hidden outlet" not in html
    assert "Hidden outlet" not in client.get(section_url("world")).content.decode()


@freeze_time(NOW)
def test_outlet_section_shares_tag(balance_citations, django_assert_num_queries):
    template = Template("{% load coverage_tags %}{% outlet_section_shares source %}")
    with django_assert_num_queries(1):
        html = template.render(Context({"source": balance_citations["alpha"]}))
    assert "Stories citing Alpha in the last 30 days, by section" in html
    assert re.search(r'href="/world/">World</a></th>\s*<td>2</td>\s*<td>4</td>\s*<td>50%</td>', html)
    assert re.search(r'href="/politics/">Politics</a></th>\s*<td>0</td>\s*<td>2</td>\s*<td>0%</td>', html)
    uncited = template.render(Context({"source": SourceFactory(name="Uncited")}))
    assert re.search(r"World</a></th>\s*<td>0</td>\s*<td>4</td>\s*<td>0%</td>", uncited)


def test_outlet_section_shares_without_stories():
    html = Template("{% load coverage_tags %}{% outlet_section_shares source %}").render(
        Context({"source": SourceFactory()})
    )
    assert "No stories were published in the last 30 days." in html


def test_balance_page_is_kept_and_follows_a_change(client, settings, django_assert_num_queries):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 300
    story(left=1)
    first = client.get(BALANCE)
    with django_assert_num_queries(0):
        assert client.get(BALANCE).content == first.content
    story(right=3)  # a save bumps the content version
    assert figure(client.get(BALANCE).content.decode()).rows[0] == [("l", 25), ("c", 0), ("r", 75)]


def test_section_balance_is_kept_per_content_version(client, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = True
    story(left=1)
    assert figure(client.get(section_url("world")).content.decode()).rows[0] == [
        ("l", 100),
        ("c", 0),
        ("r", 0),
    ]
    story(right=1)
    assert figure(client.get(section_url("world")).content.decode()).rows[0] == [
        ("l", 50),
        ("c", 0),
        ("r", 50),
    ]


# /balance/: 1 the sections (the navigation's)  2 the tallies  3 the window's stories with their
# outlets  4 the names of the outlets ranked first (coverage.balance.top_outlets)
BALANCE_QUERIES = 4


def check_balance_page_queries(client, assert_num_queries) -> None:
    """/balance/ in BALANCE_QUERIES with every bar drawn, the section page in its own and its balance."""
    with assert_num_queries(BALANCE_QUERIES):
        html = client.get(BALANCE).content.decode()
    assert len(figure(html).bars) == 12 and "empty" not in figure(html).bars
    # The section page: its own four (tests/site/test_query_counts.py) and its balance.
    with assert_num_queries(5):
        assert client.get(section_url("world")).status_code == 200


def test_page_queries_do_not_grow_with_the_archive(client, settings, django_assert_num_queries):
    """100 stories two minutes apart here, 30,000 in tests/scale/test_busy_month.py."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    build_archive(stories=100, spacing=EVERY_TWO_MINUTES)
    check_balance_page_queries(client, django_assert_num_queries)
