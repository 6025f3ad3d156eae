"""/sitemap.xml (an index of sections and story pages), the Google News sitemap and /robots.txt.

The draft / scheduled / unpublished matrix over the story and news sitemaps is in test_public_pages.py.
"""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from freezegun import freeze_time

from articles.site import sitemaps
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
    assert response["Content-Type"] == "application/xml; charset=utf-8", url
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
    """Three stories per sitemap page, so a month's continuation shows without 50,000 stories."""
    monkeypatch.setattr(sitemaps.MonthSitemap, "limit", 3)


def month(year, number):
    return f"{BASE}/sitemap-articles-{year}-{number:02d}.xml"


# --- The index ---------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_index_lists_sections_stories_and_news_each_with_a_lastmod(client):
    stories = [
        ArticleFactory(category=CategoryFactory(slug=slug), published_at=NOW - timedelta(days=1))
        for slug in ("world", "sports")
    ]
    ArticleFactory(draft=True)
    entries = index(client)
    assert [loc for loc, _ in entries] == [
        f"{BASE}/sitemap-sections.xml",
        month(2026, 3),
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


@freeze_time(NOW)
def test_one_story_sitemap_per_month_oldest_first_and_only_months_with_stories(client, small_pages):
    times = [
        datetime(2025, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, tzinfo=UTC),  # the first instant of January (UTC) is January's
        datetime(2026, 1, 20, tzinfo=UTC),
        *(datetime(2026, 3, day, tzinfo=UTC) for day in (2, 3, 4, 5)),
    ]
    stories = [ArticleFactory(published_at=when) for when in times]
    ArticleFactory(scheduled=True)  # later this month: not listed, and adds no month
    ArticleFactory(draft=True, published_at=None)
    entries = index(client)
    months = [loc for loc, _ in entries if "sitemap-articles" in loc]
    assert months == [month(2025, 12), month(2026, 1), month(2026, 3)]  # no story in February
    assert all(lastmod for _, lastmod in entries)
    listed = {page: [loc for loc, _ in urls(client, page)] for page in months}
    assert listed[month(2025, 12)] == [absolute(stories[0])]
    assert listed[month(2026, 1)] == [absolute(a) for a in stories[1:3]]
    # A month longer than a page carries on at ?p=2, oldest first.
    assert listed[month(2026, 3)] == [absolute(a) for a in stories[3:6]]
    assert [loc for loc, _ in urls(client, month(2026, 3) + "?p=2")] == [absolute(stories[6])]
    assert client.get("/sitemap-articles-2026-03.xml?p=3").status_code == 404
    assert client.get("/sitemap-articles-2026-03.xml?p=abc").status_code == 404
    assert client.get("/sitemap-articles-2026-03.xml?p=" + "9" * 25).status_code == 404
    # An empty month is an empty (valid) sitemap; a month that cannot exist is a 404.
    assert urls(client, month(2026, 2)) == []
    assert client.get("/sitemap-articles-2026-13.xml").status_code == 404
    assert client.get("/sitemap-articles-9999-12.xml").status_code == 404
    assert client.get("/sitemap-articles-0000-01.xml").status_code == 404
    assert client.get("/sitemap-articles-2026-3.xml").status_code == 404


def test_an_edit_changes_the_lastmod_of_its_own_month_only(client):
    with freeze_time(NOW) as clock:
        stories = [ArticleFactory(published_at=NOW - timedelta(days=20 * i)) for i in range(5)]
        before = dict(index(client))
        clock.tick(timedelta(hours=2))
        stories[4].title = "A corrected title"  # went live in December 2025 (80 days before)
        stories[4].save()
        after = dict(index(client))
    edited = month(2025, 12)
    assert parse_datetime(after[edited]) == NOW + timedelta(hours=2)
    assert {loc: lastmod for loc, lastmod in after.items() if loc != edited and "articles" in loc} == {
        loc: lastmod for loc, lastmod in before.items() if loc != edited and "articles" in loc
    }


def test_a_scheduled_story_going_live_moves_the_lastmods(client):
    """No save happens when a scheduled story goes live: its publish time must count as a change."""
    with freeze_time(NOW - timedelta(days=1)):
        ArticleFactory(published_at=NOW - timedelta(days=2))
        scheduled = ArticleFactory(scheduled=True, published_at=NOW - timedelta(hours=1))
    with freeze_time(NOW):
        entries = dict(index(client))
        sections = dict(urls(client, f"{BASE}/sitemap-sections.xml"))
        stories = dict(urls(client, month(2026, 3)))
    live = NOW - timedelta(hours=1)
    assert parse_datetime(entries[month(2026, 3)]) == live
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


def test_every_sitemap_says_it_is_utf_8_served_or_kept(client, settings):
    """The index, the section sitemap, each month's (a continuation page too) and the news sitemap,
    rendered and then from the page cache."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    ArticleFactory(title="Café ☕", published_at=datetime(2026, 1, 5, tzinfo=UTC))
    addresses = [loc for loc, _ in index(client)]
    addresses.append(f"{sitemaps.month_path(datetime(2026, 1, 5, tzinfo=UTC))}?p=1")
    assert len(addresses) == 4
    for url in addresses:
        xml(client, url)
        kept = client.get(url.removeprefix(BASE))
        assert kept["X-Page-Cache"] == "hit", url
        assert kept["Content-Type"] == "application/xml; charset=utf-8", url


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
    # 1 the newest edit of a live story  2 the newest publish time  3 the oldest live story
    # 4 each month's newest edit and newest publish time, two index probes a month, in one query
    "index": 4,
    # 1 count of the sections (paginator)  2 the sections with their latest story change
    "sections": 2,
    # 1 the month's stories with their sections (a range of the index: no count of the archive)
    "articles": 1,
    # 1 the stories of the last 48 hours with their sections
    "news": 1,
}
SITEMAP_URLS = {
    "index": "/sitemap.xml",
    "sections": "/sitemap-sections.xml",
    "articles": "/sitemap-articles-2026-03.xml",
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


def test_the_sitemap_index_s_raw_sql_sees_the_stories_published_sees():
    """The month lastmods' raw query takes its conditions from Article.objects.published(): the
    same stories, over drafts, scheduled, published and unpublished ones."""
    from django.db import connection
    from django.utils import timezone

    from articles.models import Article
    from articles.site.sitemaps import visibility_sql

    for traits in ({}, {"draft": True}, {"scheduled": True}, {"unpublished": True}):
        ArticleFactory(**traits)
    now = timezone.now()
    visible, params = visibility_sql(now)
    table = connection.ops.quote_name(Article._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {visible}", params)
        raw = {row[0] for row in cursor.fetchall()}
    assert raw == set(Article.objects.published(now=now).values_list("pk", flat=True))
    assert raw and raw != set(Article.objects.values_list("pk", flat=True))
