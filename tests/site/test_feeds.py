"""RSS 2.0 and Atom feeds, site-wide and per section, read back with a real feed parser.

The draft / scheduled / unpublished matrix over the feeds is in test_public_pages.py.
"""

import calendar
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import feedparser
import pytest
from django.urls import reverse
from PIL import Image

from tests.factories import ArticleFactory, ArticleSourceFactory, CategoryFactory, SourceFactory

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
FEEDS = {
    "rss": ("articles:feed_rss", {}, "rss20", "application/rss+xml"),
    "atom": ("articles:feed_atom", {}, "atom10", "application/atom+xml"),
    "section-rss": ("articles:section_feed_rss", {"section": "world"}, "rss20", "application/rss+xml"),
    "section-atom": ("articles:section_feed_atom", {"section": "world"}, "atom10", "application/atom+xml"),
}


def feed(client, kind):
    name, kwargs, version, content_type = FEEDS[kind]
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    assert response["Content-Type"] == f"{content_type}; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == version
    return parsed


def utc(struct):
    """feedparser's parsed time (UTC) as an aware datetime, to the second."""
    return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)


def seconds(when):
    return when.astimezone(UTC).replace(microsecond=0)


def media_file(media_root, url):
    assert url.startswith(f"{BASE}/media/"), url
    return media_root / url.removeprefix(f"{BASE}/media/")


@pytest.mark.parametrize("kind", FEEDS)
def test_feeds_list_the_50_latest_published_stories_newest_first(client, kind):
    world = CategoryFactory(slug="world")
    stories = [
        ArticleFactory(category=world, published_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i))
        for i in range(52)
    ]
    politics = ArticleFactory(category=CategoryFactory(slug="politics"))  # the newest of all
    ArticleFactory(category=world, draft=True)
    ArticleFactory(category=world, scheduled=True)
    parsed = feed(client, kind)
    newest_first = [politics, *stories[::-1]] if not kind.startswith("section") else stories[::-1]
    assert [e.link for e in parsed.entries] == [f"{BASE}{a.get_absolute_url()}" for a in newest_first[:50]]


@pytest.mark.parametrize("kind", FEEDS)
def test_feed_describes_itself(client, kind):
    ArticleFactory()
    parsed = feed(client, kind)
    section = kind.startswith("section")
    assert parsed.feed.title == ("World · newsapp" if section else "newsapp: latest stories")
    assert parsed.feed.link == (f"{BASE}/world/" if section else f"{BASE}/")
    name, kwargs, *_ = FEEDS[kind]
    assert [link.href for link in parsed.feed.links if link.rel == "self"] == [
        f"{BASE}{reverse(name, kwargs=kwargs)}"
    ]
    assert "bias rating" in parsed.feed.subtitle
    if kind.endswith("atom"):
        assert parsed.feed.author == "newsapp"  # Atom requires an author for its entries


@pytest.mark.parametrize("kind", FEEDS)
def test_entry_carries_title_link_summary_times_section_and_lead_image(client, media_root, kind):
    article = ArticleFactory(
        title="Rock & roll <b>returns</b>",
        summary="Guitars are *back*.\n\nSecond paragraph.",
        published_at=datetime(2026, 1, 2, 9, 30, tzinfo=UTC),
        with_image=True,
    )
    [entry] = feed(client, kind).entries
    assert entry.title == "Rock & roll <b>returns</b>"
    assert entry.link == entry.id == f"{BASE}{article.get_absolute_url()}"
    assert entry.summary == article.summary_html
    assert "<em>back</em>" in entry.summary
    assert utc(entry.published_parsed) == datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    assert utc(entry.updated_parsed) == datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    assert [tag.term for tag in entry.tags] == ["World"]
    [enclosure] = entry.enclosures
    [media] = entry.media_content
    assert enclosure.type == media["type"] == "image/jpeg"
    assert enclosure.href == media["url"]
    picture = media_file(media_root, media["url"])
    assert int(enclosure.length) == picture.stat().st_size
    with Image.open(picture) as img:
        assert img.format == "JPEG"
        assert (int(media["width"]), int(media["height"])) == img.size


@pytest.mark.parametrize("kind", FEEDS)
def test_a_story_without_a_lead_image_has_no_enclosure(client, kind):
    ArticleFactory()
    [entry] = feed(client, kind).entries
    assert entry.enclosures == []
    assert "media_content" not in entry


@pytest.mark.parametrize("kind", FEEDS)
def test_an_updated_story_carries_its_update_time(client, kind):
    published = datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    modified = datetime(2026, 1, 3, 17, 45, tzinfo=UTC)
    ArticleFactory(published_at=published, modified_at=modified)
    ArticleFactory(published_at=published - timedelta(days=1))
    parsed = feed(client, kind)
    entry = parsed.entries[0]
    assert utc(entry.published_parsed) == published
    assert utc(entry.updated_parsed) == modified
    assert utc(parsed.feed.updated_parsed) == modified  # the feed changed when the story did


@pytest.mark.parametrize("url", ["/no-such-section/feed/", "/no-such-section/feed/atom/"])
def test_an_unknown_sections_feed_is_the_friendly_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "We can’t find that page" in response.content.decode()


def test_an_empty_feed_is_still_valid(client):
    for kind in FEEDS:
        assert feed(client, kind).entries == []


# --- Every page names its feeds in <head> -----------------------------------------------------------


class _Alternates(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self._in_head = [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in_head = self._in_head or tag == "head"
        if tag == "body":
            self._in_head = False
        if self._in_head and tag == "link" and a.get("rel") == "alternate":
            self.links.append((a["type"], a["href"]))


def alternates(html):
    parser = _Alternates()
    parser.feed(html)
    return parser.links


SITE_FEEDS = [("application/rss+xml", "/feed/"), ("application/atom+xml", "/feed/atom/")]
SECTION_FEEDS = [("application/rss+xml", "/world/feed/"), ("application/atom+xml", "/world/feed/atom/")]


def test_every_public_page_links_its_feeds_from_head(client):
    outlet = SourceFactory()
    article = ArticleFactory(title="Glacier retreat")
    ArticleSourceFactory(article=article, source=outlet)
    ArticleFactory.create_batch(20)
    pages = {
        reverse("articles:home"): SITE_FEEDS,
        reverse("articles:home") + "?page=2": SITE_FEEDS,
        reverse("articles:section", kwargs={"section": "world"}): SITE_FEEDS + SECTION_FEEDS,
        article.get_absolute_url(): SITE_FEEDS + SECTION_FEEDS,
        outlet.get_absolute_url(): SITE_FEEDS,
        reverse("articles:search") + "?q=glacier": SITE_FEEDS,
    }
    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert alternates(response.content.decode()) == expected, url
    for content_type, href in SITE_FEEDS + SECTION_FEEDS:
        response = client.get(href)
        assert response.status_code == 200, href
        assert response["Content-Type"].startswith(content_type)


# --- A fixed number of queries, whatever the number of stories --------------------------------------

# Site-wide: 1 the 50 latest stories with their sections.
# A section's: 1 the section  2 its 50 latest stories.
FEED_QUERIES = {"rss": 1, "atom": 1, "section-rss": 2, "section-atom": 2}


@pytest.mark.parametrize("n", [5, 40])
@pytest.mark.parametrize("kind", FEEDS)
def test_feeds_run_a_fixed_number_of_queries(client, django_assert_num_queries, settings, kind, n):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # the render itself; test_pagecache.py covers cache hits
    for i in range(n):
        article = ArticleFactory(
            with_image=i < 3, modified_at=datetime(2026, 1, 1, tzinfo=UTC) if i % 2 else None
        )
        ArticleSourceFactory(article=article)
    name, kwargs, *_ = FEEDS[kind]
    with django_assert_num_queries(FEED_QUERIES[kind]):
        response = client.get(reverse(name, kwargs=kwargs))
    assert len(feedparser.parse(response.content).entries) == n
