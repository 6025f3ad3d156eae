"""Deep paging: numbered pages first, then cursor links whose cost does not grow with depth."""

import re

import pytest
from django.urls import reverse

from articles.site import paging
from tests.factories import ArticleFactory, CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive():
    world = CategoryFactory(slug="world")
    return [ArticleFactory(category=world, title=f"Archive story {i:03d}") for i in range(70)]


def older_link(html):
    match = re.search(r'rel="next" href="([^"]+)"', html)
    return match and match[1].replace("&amp;", "&")


def titles(html):
    return re.findall(r"Archive story \d{3}", html)


def test_older_links_switch_to_cursors_after_the_numbered_pages(client, archive, monkeypatch):
    monkeypatch.setattr(paging, "MAX_NUMBERED_PAGE", 2)
    url = reverse("articles:section", kwargs={"section": "world"})
    seen, html, pages = [], client.get(url).content.decode(), 1
    while True:
        seen += titles(html)
        link = older_link(html)
        if not link:
            break
        html = client.get(url + link).content.decode()
        pages += 1
        if pages > 2:
            assert "before=" in link and "Older stories" in html
    assert pages == 4
    assert seen == [f"Archive story {i:03d}" for i in range(70)]  # every story once, newest first


def test_a_deep_cursor_page_costs_the_same_queries_as_a_shallow_one(
    client, archive, django_assert_num_queries, settings
):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # the render, not a cache hit
    settings.NEWSAPP_FRAGMENT_CACHE = False  # the navigation is queried for each
    url = reverse("articles:section", kwargs={"section": "world"})
    shallow = paging.encode_cursor(archive[5])
    deep = paging.encode_cursor(archive[60])
    # the section, the navigation, one slice of stories: no count, no offset; and the section's
    # balance (coverage_tags.section_balance, uncached here), one query over the last 30 days whatever
    # the page, so the same on both
    with django_assert_num_queries(4):
        first = client.get(url, {"before": shallow}).content.decode()
    with django_assert_num_queries(4):
        last = client.get(url, {"before": deep}).content.decode()
    assert titles(first)[0] == "Archive story 006"
    assert titles(last) == [f"Archive story {i:03d}" for i in range(61, 70)]


@pytest.mark.parametrize("cursor", ["abc", "1-", "-1-2", "9" * 30 + "-1", "%00", "1.5-2"])
def test_a_damaged_cursor_is_a_friendly_400(client, archive, cursor):
    response = client.get(reverse("articles:section", kwargs={"section": "world"}) + f"?before={cursor}")
    assert response.status_code == 400
    assert "damaged" in response.content.decode()


def test_numbered_pages_stop_with_a_pointer_to_the_older_links(client, archive):
    response = client.get(reverse("articles:section", kwargs={"section": "world"}), {"page": 26})
    assert response.status_code == 404


def test_past_the_oldest_story_is_a_404(client, archive):
    oldest = paging.encode_cursor(archive[-1])
    response = client.get(reverse("articles:section", kwargs={"section": "world"}), {"before": oldest})
    assert response.status_code == 404


def test_the_count_stops_past_the_numbered_pages(client, archive, monkeypatch):
    """A long list is not counted to its end: "Page 1 of 2+" and a cursor link after page 2."""
    monkeypatch.setattr(paging, "MAX_NUMBERED_PAGE", 2)
    url = reverse("articles:section", kwargs={"section": "world"})
    first = client.get(url).content.decode()
    assert "Page 1 of 2+" in first
    second = client.get(url + older_link(first)).content.decode()
    assert "Page 2 of 2+" in second
    assert "before=" in older_link(second)
    short = CategoryFactory(slug="sports")
    ArticleFactory.create_batch(3, category=short)
    assert (
        "Page 1 of"
        not in client.get(reverse("articles:section", kwargs={"section": "sports"})).content.decode()
    )
