"""/blindspot/ and its feeds: both sides' lists with their numbers, never a hidden story, a fixed
number of queries at 100 and (tests/scale/test_ten_years.py) 30,000 stories, and there, on PostgreSQL,
every query on an index."""

from datetime import timedelta

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone

from coverage.blindspots import current_blindspots
from tests.coverage.newsroom import story
from tests.scale.archive import EVERY_THREE_HOURS, build_archive

pytestmark = pytest.mark.django_db

FEEDS = ["coverage:blindspot_rss", "coverage:blindspot_atom"]


@pytest.fixture
def newsroom(settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # each request renders; the cache is tested on its own
    now = timezone.now()
    story(at=now - timedelta(days=3), left=3, center=3, right=3)
    story(section="politics", at=now - timedelta(days=3), left=3, center=3, right=3)
    return {
        # World: left 0 of 9, interval [0, 29.9%] below the left's 33.3%.
        "left": story(at=now - timedelta(hours=2), left=0, center=5, right=4, title="Port deal signed"),
        # Politics: right 0 of 11, interval [0, 25.9%] below the right's 33.3%.
        "right": story(
            section="politics", at=now - timedelta(hours=3), left=6, center=5, right=0, title="Budget vote"
        ),
        "seven": story(at=now - timedelta(hours=4), left=0, center=7, right=0, title="Seven outlets only"),
    }


def test_the_page_lists_each_side_with_its_numbers(client, newsroom):
    response = client.get(reverse("coverage:blindspot"))
    assert response.status_code == 200
    html = response.content.decode()
    left, right = html.index('id="blindspot-left"'), html.index('id="blindspot-right"')
    assert left < html.index("Port deal signed") < right < html.index("Budget vote")
    assert "Seven outlets only" not in html
    assert html.count("Port deal signed") == 1 and html.count("Budget vote") == 1
    for figure in [
        "<dt>Rated outlets</dt><dd>9</dd>",
        "<dt>From the left</dt><dd>0 (0.0%)</dd>",
        "<dt>95% interval</dt><dd>0.0% to 29.9%</dd>",  # z²/(9 + z²) = 0.29915
        "<dt>World baseline</dt><dd>33.3%</dd>",
        "<dt>Rated outlets</dt><dd>11</dd>",
        "<dt>95% interval</dt><dd>0.0% to 25.9%</dd>",  # z²/(11 + z²) = 0.25886
        "<dt>Politics baseline</dt><dd>33.3%</dd>",
    ]:
        assert figure in html
    assert newsroom["left"].get_absolute_url() in html
    assert 'href="/politics/"' in html


def test_the_page_states_the_rule_with_the_settings(client, newsroom, settings):
    # Crypto leans left (5 of 7); a story there with no left outlet among 7 is under the minimum.
    story(section="crypto", at=timezone.now() - timedelta(days=2), left=5, center=1, right=1)
    story(section="crypto", at=timezone.now() - timedelta(hours=1), left=0, center=4, right=3, title="Coin")
    html = client.get(reverse("coverage:blindspot")).content.decode()
    assert "<var>n</var> is at least 8 and the upper end of the 95% Wilson interval" in html
    assert "over the 30 days before the story's day" in html
    assert "Stories from the last 7 days" in html
    assert f'<a href="{reverse("coverage:methodology")}#blindspots">How we rate coverage</a>' in html
    assert "Coin" not in html
    settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS = 7
    settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS = 12
    settings.NEWSAPP_BLINDSPOT_RECENT_DAYS = 3
    html = client.get(reverse("coverage:blindspot")).content.decode()
    assert "<var>n</var> is at least 7 and the upper end of the 95% Wilson interval" in html
    assert "over the 12 days before the story's day" in html
    assert "Stories from the last 3 days" in html
    # Left 0 of 7: up to 35.4%, below crypto's 71.4%.
    assert html.index('id="blindspot-left"') < html.index("Coin") < html.index('id="blindspot-right"')
    assert "<dt>95% interval</dt><dd>0.0% to 35.4%</dd>" in html
    assert "<dt>Crypto baseline</dt><dd>71.4%</dd>" in html


def test_the_page_says_when_a_side_has_none(client):
    html = client.get(reverse("coverage:blindspot")).content.decode()
    assert "No story from the last 7 days is a blindspot for the left." in html
    assert "No story from the last 7 days is a blindspot for the right." in html


def test_the_page_and_feeds_are_read_only(client):
    for name in ["coverage:blindspot", *FEEDS]:
        assert client.post(reverse(name)).status_code == 405
        assert client.head(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", FEEDS)
def test_the_feeds_list_every_blindspot_once_per_side(client, newsroom, name):
    both = story(at=timezone.now() - timedelta(hours=1), left=0, center=20, right=0, title="Centre only")
    response = client.get(reverse(name))
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    titles = [entry.title for entry in parsed.entries]
    assert titles == [
        "Blindspot for the left: Centre only",
        "Blindspot for the right: Centre only",
        "Blindspot for the left: Port deal signed",
        "Blindspot for the right: Budget vote",
    ]
    ids = [entry.id for entry in parsed.entries]
    assert len(set(ids)) == 4 and all(i.startswith("http://testserver/") for i in ids)
    assert parsed.entries[0].link == f"http://testserver{both.get_absolute_url()}"
    assert parsed.entries[2].summary == (
        "0 of 9 rated outlets from the left (0.0%); 95% interval 0.0% to 29.9%; "
        "the left's share of World coverage over the previous 30 days: 33.3%."
    )
    assert parsed.feed.link == "http://testserver/blindspot/"


def test_no_hidden_story_ever_appears(client, newsroom):
    now = timezone.now()
    hidden = [
        story(left=0, center=10, right=0, draft=True, title="Hidden draft"),
        story(left=0, center=10, right=0, scheduled=True, title="Hidden scheduled"),
        story(
            at=now - timedelta(hours=1), left=0, center=10, right=0, unpublished=True, title="Hidden was live"
        ),
    ]
    for name in ["coverage:blindspot", *FEEDS]:
        body = client.get(reverse(name)).content.decode()
        assert "Port deal signed" in body, name
        for article in hidden:
            assert article.title not in body, name
            assert article.slug not in body, name
    found = current_blindspots(now=now + timedelta(days=2))
    assert not {spot.article.pk for side in found.values() for spot in side} & {a.pk for a in hidden}


def test_the_page_cache_keeps_the_page(client, newsroom, settings, django_assert_num_queries):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 60
    for name in ["coverage:blindspot", *FEEDS]:
        assert client.get(reverse(name))["X-Page-Cache"] == "miss"
        with django_assert_num_queries(0):
            assert client.get(reverse(name))["X-Page-Cache"] == "hit"


QUERIES = {
    # 1 the navigation's sections  2 the recent stories with enough outlets  3 their daily tallies
    "coverage:blindspot": 3,
    "coverage:blindspot_rss": 2,
    "coverage:blindspot_atom": 2,
}


def check_blindspot_queries(client, assert_num_queries) -> None:
    """The blindspots (both sides found) in 2 queries, each page in its QUERIES."""
    found = current_blindspots()
    assert found["left"] and found["right"]  # the lists are not empty: their loops run
    with assert_num_queries(2):
        current_blindspots()
    for name, expected in QUERIES.items():
        with assert_num_queries(expected):
            assert client.get(reverse(name)).status_code == 200


def test_queries_are_fixed_whatever_the_archive(client, settings, django_assert_num_queries):
    """At 100 stories here, at 30,000 in tests/scale/test_ten_years.py."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    build_archive(stories=100, spacing=EVERY_THREE_HOURS)
    check_blindspot_queries(client, django_assert_num_queries)
