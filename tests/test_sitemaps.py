"""/sitemap.xml (an index of sections and story pages), the Google News sitemap and /robots.txt.

The draft / scheduled / unpublished matrix over the story and news sitemaps is in test_public_pages.py.
"""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from freezegun import freeze_time

from articles import sitemaps
from tests.factories import ArticleFactory, CategoryFactory

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def xml(client, url):
    response = client.get(url.removeprefix(BASE))
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/xml")
    return ET.fromstring(response.content)


def index(client):
    """[(loc, lastmod or None)] from /sitemap.xml."""
    root = xml(client, reverse("articles:sitemap_index"))
    return [
        (s.findtext("sm:loc", namespaces=NS), s.findtext("sm:lastmod", namespaces=NS))
        for s in root.findall("sm:sitemap", NS)
    ]


def urls(client, url):
    """[(loc, lastmod or None)] from one sitemap page."""
    root = xml(client, url)
    return [
        (u.findtext("sm:loc", namespaces=NS), u.findtext("sm:lastmod", namespaces=NS))
        for u in root.findall("sm:url", NS)
    ]


def absolute(article):
    return f"{BASE}{article.get_absolute_url()}"


@pytest.fixture
def small_pages(monkeypatch):
    """Three stories per sitemap page, so splitting shows without 10,000 stories."""
    monkeypatch.setattr(sitemaps, "PAGE_SIZE", 3)
    monkeypatch.setattr(sitemaps.ArticleSitemap, "limit", 3)


# --- The index ---------------------------------------------------------------------------------------


def test_index_lists_sections_stories_and_news_each_with_a_lastmod(client):
    stories = [ArticleFactory(category=CategoryFactory(slug=slug)) for slug in ("world", "sports")]
    ArticleFactory(draft=True)
    entries = index(client)
    assert [loc for loc, _ in entries] == [
        f"{BASE}/sitemap-sections.xml",
        f"{BASE}/sitemap-articles.xml",
        f"{BASE}/sitemap-news.xml",
    ]
    assert all(parse_datetime(lastmod) for _, lastmod in entries)
    assert sorted(loc for loc, _ in urls(client, entries[1][0])) == sorted(absolute(a) for a in stories)
    sections = dict(urls(client, entries[0][0]))
    assert list(sections) == [
        f"{BASE}/{slug}/" for slug in ("world", "politics", "crypto", "business", "sports")
    ]
    # A section's lastmod comes from its published stories only; an empty section has none.
    assert sections[f"{BASE}/world/"] and sections[f"{BASE}/sports/"]
    assert sections[f"{BASE}/politics/"] is None


def test_index_splits_story_pages_and_every_page_works(client, small_pages):
    stories = [ArticleFactory(published_at=NOW - timedelta(days=30 - i)) for i in range(7)]
    ArticleFactory(scheduled=True)
    entries = index(client)
    article_pages = [loc for loc, _ in entries if "sitemap-articles" in loc]
    assert article_pages == [
        f"{BASE}/sitemap-articles.xml",
        f"{BASE}/sitemap-articles.xml?p=2",
        f"{BASE}/sitemap-articles.xml?p=3",
    ]
    assert all(lastmod for _, lastmod in entries)
    listed = [[loc for loc, _ in urls(client, page)] for page in article_pages]
    assert [len(page) for page in listed] == [3, 3, 1]
    # Oldest first, so a page's content stays put as new stories arrive.
    assert [loc for page in listed for loc in page] == [absolute(a) for a in stories]
    assert client.get("/sitemap-articles.xml?p=4").status_code == 404
    assert client.get("/sitemap-articles.xml?p=abc").status_code == 404


def test_an_edit_changes_the_lastmod_of_its_own_page_only(client, small_pages):
    with freeze_time(NOW) as clock:
        stories = [ArticleFactory(published_at=NOW - timedelta(days=30 - i)) for i in range(7)]
        before = dict(index(client))
        clock.tick(timedelta(hours=2))
        stories[4].title = "A corrected title"
        stories[4].save()
        after = dict(index(client))
    page_2 = f"{BASE}/sitemap-articles.xml?p=2"
    assert parse_datetime(after[page_2]) == NOW + timedelta(hours=2)
    assert {loc: lastmod for loc, lastmod in after.items() if loc != page_2 and "articles" in loc} == {
        loc: lastmod for loc, lastmod in before.items() if loc != page_2 and "articles" in loc
    }


def test_a_scheduled_story_going_live_moves_the_lastmods(client):
    """No save happens when a scheduled story goes live: its publish time must count as a change."""
    with freeze_time(NOW - timedelta(days=1)):
        ArticleFactory(published_at=NOW - timedelta(days=2))
        scheduled = ArticleFactory(scheduled=True, published_at=NOW - timedelta(hours=1))
    with freeze_time(NOW):
        entries = dict(index(client))
        sections = dict(urls(client, f"{BASE}/sitemap-sections.xml"))
        stories = dict(urls(client, f"{BASE}/sitemap-articles.xml"))
    live = NOW - timedelta(hours=1)
    assert parse_datetime(entries[f"{BASE}/sitemap-articles.xml"]) == live
    assert parse_datetime(entries[f"{BASE}/sitemap-sections.xml"]) == live
    assert stories[absolute(scheduled)] == live.date().isoformat()
    assert sections[f"{BASE}/world/"] == live.date().isoformat()


# --- The Google News sitemap -------------------------------------------------------------------------


def news(client):
    root = xml(client, reverse("articles:news_sitemap"))
    return [
        {
            "loc": u.findtext("sm:loc", namespaces=NS),
            "name": u.findtext("news:news/news:publication/news:name", namespaces=NS),
            "language": u.findtext("news:news/news:publication/news:language", namespaces=NS),
            "date": parse_datetime(u.findtext("news:news/news:publication_date", namespaces=NS)),
            "title": u.findtext("news:news/news:title", namespaces=NS),
        }
        for u in root.findall("sm:url", NS)
    ]


@freeze_time(NOW)
def test_news_sitemap_has_the_last_48_hours_only(client):
    fresh = ArticleFactory(
        title="Rock & roll <b>returns</b>",
        published_at=NOW - timedelta(hours=1),
        category=CategoryFactory(slug="sports"),
    )
    day_old = ArticleFactory(published_at=NOW - timedelta(hours=47))
    ArticleFactory(published_at=NOW - timedelta(hours=49))
    ArticleFactory(scheduled=True, published_at=NOW + timedelta(minutes=5))
    ArticleFactory(draft=True)
    ArticleFactory(unpublished=True, published_at=NOW - timedelta(hours=2))
    entries = news(client)
    assert [e["loc"] for e in entries] == [absolute(fresh), absolute(day_old)]
    assert entries[0] == {
        "loc": absolute(fresh),
        "name": "newsapp",
        "language": "en",
        "date": NOW - timedelta(hours=1),
        "title": "Rock & roll <b>returns</b>",
    }


@freeze_time(NOW)
def test_news_sitemap_stops_at_its_limit_newest_first(client, monkeypatch):
    monkeypatch.setattr(sitemaps, "NEWS_LIMIT", 2)
    stories = [ArticleFactory(published_at=NOW - timedelta(hours=i)) for i in range(1, 5)]
    assert [e["loc"] for e in news(client)] == [absolute(a) for a in stories[:2]]


def test_empty_site_sitemaps_are_still_valid(client):
    entries = index(client)
    for loc, _ in entries:
        xml(client, loc)
    assert news(client) == []


# --- robots.txt --------------------------------------------------------------------------------------


def test_robots_txt_points_at_the_sitemaps(client):
    response = client.get(reverse("articles:robots"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /admin/" in lines
    assert f"Sitemap: {BASE}/sitemap.xml" in lines
    assert f"Sitemap: {BASE}/sitemap-news.xml" in lines
    for line in lines:
        if line.startswith("Sitemap: "):
            xml(client, line.removeprefix("Sitemap: "))


# --- A fixed number of queries, whatever the number of stories ---------------------------------------

SITEMAP_QUERIES = {
    # 1 the newest edit of a live story  2 the newest publish time  3 each story page's lastmod,
    # in one grouped query
    "index": 3,
    # 1 count of the sections (paginator)  2 the sections with their latest story change
    "sections": 2,
    # 1 the page of stories with their sections (sliced: no count of the whole archive)
    "articles": 1,
    # 1 the stories of the last 48 hours with their sections
    "news": 1,
}
SITEMAP_URLS = {
    "index": "/sitemap.xml",
    "sections": "/sitemap-sections.xml",
    "articles": "/sitemap-articles.xml",
    "news": "/sitemap-news.xml",
}


@pytest.mark.parametrize("n", [5, 40])
@pytest.mark.parametrize("name", SITEMAP_QUERIES)
@freeze_time(NOW)
def test_sitemaps_run_a_fixed_number_of_queries(client, django_assert_num_queries, settings, name, n):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # the render itself; test_pagecache.py covers cache hits
    sections = ["world", "politics", "crypto", "business", "sports"]
    for i in range(n):
        # Explicit times: the factory's default steps back a minute per story made in this process.
        ArticleFactory(category=CategoryFactory(slug=sections[i % 5]), published_at=NOW - timedelta(hours=i))
    ArticleFactory(draft=True)
    with django_assert_num_queries(SITEMAP_QUERIES[name]):
        response = client.get(SITEMAP_URLS[name])
    assert response.status_code == 200
    if name in ("articles", "news"):
        assert len(ET.fromstring(response.content).findall("sm:url", NS)) == n
