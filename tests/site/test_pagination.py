"""Paging through the front page, sections and outlets: the same rules everywhere.

A malformed page number is the reader's mistake (400, a friendly page with the navigation); a page
past the end is a 404; nothing is ever a server error. Sections' basic cases are in test_public_pages.py.
"""

import re

import pytest
from django.urls import reverse

from tests.factories import ArticleFactory, ArticleSourceFactory, SourceFactory

pytestmark = pytest.mark.django_db

NOT_FOUND = "We can’t find that page"
BAD_REQUEST = "We couldn’t understand that request"
# Error pages lead back to the front page; they carry no section navigation, which would need the
# database (newsapp/errors.py renders them without it).
HOME_LINK = '<a class="brand" href="/">'


def cards(html):
    return re.findall(r'class="card-title"><a href="[^"]+">([^<]+)</a>', html)


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, url
    return response.content.decode()


@pytest.fixture
def stories():
    """45 published stories citing one outlet, newest first, and a few hidden ones."""
    outlet = SourceFactory(slug="the-outlet")
    items = [ArticleFactory(title=f"Story {i:02d}") for i in range(45)]
    for article in items:
        ArticleSourceFactory(article=article, source=outlet)
    for traits in ({"draft": True}, {"scheduled": True}, {"unpublished": True}):
        ArticleSourceFactory(
            article=ArticleFactory(title=f"Hidden story {next(iter(traits))}", **traits), source=outlet
        )
    return [a.title for a in items]


@pytest.fixture
def one_story():
    """Enough for every listing to exist: a story citing the outlet."""
    ArticleSourceFactory(article=ArticleFactory(), source=SourceFactory(slug="the-outlet"))


SURFACES = {
    "home": reverse("articles:home"),
    "section": reverse("articles:section", kwargs={"section": "world"}),
    "source": reverse("articles:source", kwargs={"slug": "the-outlet"}),
}


def link(html, rel):
    match = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return match and match.group(1).replace("&amp;", "&")


def test_the_front_page_leads_on_to_more_pages_showing_every_story_once(client, stories):
    front = get(client, SURFACES["home"])
    assert cards(front)[:13] == stories[:13]  # the lead, then the latest twelve
    more = re.search(r'<a href="([^"]+)">More stories</a>', front).group(1)
    second = get(client, more)
    assert "<h1>More stories</h1>" in second
    assert "Page 2 of 3" in second
    assert cards(second) == stories[13:33]
    third = get(client, link(second, "next"))
    assert "Page 3 of 3" in third
    assert cards(third) == stories[33:]
    assert link(third, "next") is None
    assert cards(get(client, link(third, "prev"))) == cards(second)
    assert cards(get(client, f"{SURFACES['home']}?page=1")) == cards(front)
    assert link(second, "prev") == SURFACES["home"]
    assert "Hidden story" not in front + second + third


@pytest.mark.parametrize("surface", ["home", "section"])
def test_every_numbered_listing_pages_the_same_way(client, stories, surface):
    url = SURFACES[surface]
    assert NOT_FOUND in get(client, f"{url}?page=4", status=404)
    if surface != "home":
        assert cards(get(client, url)) == stories[:20]
        assert cards(get(client, f"{url}?page=3")) == stories[40:]
    assert cards(get(client, f"{url}?page=")) == cards(get(client, url))
    assert cards(get(client, f"{url}?page=%202%20")) == cards(get(client, f"{url}?page=2"))


def test_an_outlet_pages_with_older_links_only(client, stories):
    """No count (it would read every story citing a big outlet): "Older" cursors from page 1 on."""
    url = SURFACES["source"]
    first = get(client, url)
    assert cards(first) == stories[:20]
    second = get(client, link(first, "next"))
    assert cards(second) == stories[20:40]
    third = get(client, link(second, "next"))
    assert cards(third) == stories[40:]
    assert link(third, "next") is None
    assert NOT_FOUND in get(client, f"{url}?page=2", status=404)


BASIC = ["abc", "0", "-1", "1.5", "9" * 40, "99999999"]
ODD = ["١٢", "²", "%2B2", "0x10", "1_000", "%00", "2%00", "１"]


@pytest.mark.parametrize(
    ("surface", "number"),
    [(s, n) for s in ("home", "source") for n in BASIC] + [(s, n) for s in SURFACES for n in ODD],
)
def test_a_malformed_page_number_is_a_friendly_400(client, one_story, surface, number):
    html = get(client, f"{SURFACES[surface]}?page={number}", status=400)
    assert BAD_REQUEST in html
    assert "is not a page number" in html
    assert HOME_LINK in html


@pytest.mark.parametrize("number", ["2", "4", "9999999"])
@pytest.mark.parametrize("surface", SURFACES)
def test_a_page_past_the_end_is_a_friendly_404(client, one_story, surface, number):
    html = get(client, f"{SURFACES[surface]}?page={number}", status=404)
    assert NOT_FOUND in html
    assert HOME_LINK in html


@pytest.mark.parametrize("cursor", ["abc", "1-", "-1-1", "99999999999999999999-1", "1-1-1", "%00"])
@pytest.mark.parametrize("surface", SURFACES)
def test_a_damaged_older_stories_link_is_a_friendly_400(client, one_story, surface, cursor):
    html = get(client, f"{SURFACES[surface]}?before={cursor}", status=400)
    assert BAD_REQUEST in html
    assert HOME_LINK in html


@pytest.mark.parametrize("surface", SURFACES)
def test_an_older_stories_link_before_the_first_story_is_a_friendly_404(client, one_story, surface):
    assert NOT_FOUND in get(client, f"{SURFACES[surface]}?before=1-1", status=404)


def test_an_empty_front_page_has_no_second_page(client):
    assert "No stories have been published yet." in get(client, SURFACES["home"])
    assert NOT_FOUND in get(client, f"{SURFACES['home']}?page=2", status=404)
