"""Every public page runs a fixed number of queries, whatever the number of stories behind it."""

import itertools

import pytest
from django.urls import reverse

from tests.factories import (
    ArticleFactory,
    ArticleSourceFactory,
    BiasRatingFactory,
    CategoryFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

SECTIONS = ["world", "politics", "crypto", "business", "sports"]

QUERIES = {
    # 1 the sections for the navigation (once per request, shared with the page's blocks)
    # 2 one UNION of the lists' card keys: newest featured, latest, each section's newest
    # 3 the stories whose cards are not in the card cache yet, with section and rating
    "home": 3,
    # 1 the section  2 count of its published stories (paginator)  3 the navigation  4 the page of stories
    "section": 4,
    # 1 the story with its section and rating  2 its citations with their outlets
    # 3 related stories sharing an outlet  4 the section's newest to top them up  5 the navigation
    "article": 5,
    # 1 the outlet  2 the navigation  3 the page of stories (cursor paging: no count)
    "source": 3,
}


@pytest.fixture(params=[3, 40], ids=["3-stories", "40-stories"])
def newsroom(request):
    """n published stories (a few hidden ones too), each with sources and most with a rating."""
    n = request.param
    outlets = [
        SourceFactory(with_logo=i < 2, bias=lean) for i, lean in enumerate(["left", "center", "right"] * 2)
    ]
    cycle = itertools.cycle(outlets)
    stories = []
    for i in range(n):
        story = ArticleFactory(
            category=CategoryFactory(slug=SECTIONS[i % len(SECTIONS)]),
            featured=i == 1,
            with_image=i < 2,
        )
        for _ in range(2):
            ArticleSourceFactory(article=story, source=next(cycle))
        if i % 4:
            BiasRatingFactory(article=story)
        stories.append(story)
    ArticleFactory(draft=True)
    ArticleFactory(scheduled=True)
    # The story under test cites more outlets when there is more news: its page must not care.
    cited = stories[0]
    for outlet in outlets[: min(n, len(outlets))]:
        ArticleSourceFactory(article=cited, source=outlet)
    return {"story": cited, "outlet": outlets[0], "n": n}


def urls(newsroom):
    return {
        "home": reverse("articles:home"),
        "section": reverse("articles:section", kwargs={"section": "world"}),
        "article": newsroom["story"].get_absolute_url(),
        "source": newsroom["outlet"].get_absolute_url(),
    }


@pytest.mark.parametrize("name", QUERIES)
def test_queries_per_page_are_fixed(client, django_assert_num_queries, newsroom, name, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # the render itself; test_pagecache.py covers cache hits
    url = urls(newsroom)[name]
    with django_assert_num_queries(QUERIES[name]):
        response = client.get(url)
    assert response.status_code == 200
    assert newsroom["story"].title.encode() in response.content


def test_the_pages_really_show_the_stories(client, newsroom):
    """The fixed counts above are for pages that show many stories, not for empty ones."""
    n = newsroom["n"]
    world = client.get(urls(newsroom)["section"]).content.decode()
    assert world.count('class="card"') == min((n + 4) // 5, 20)
    outlet = client.get(urls(newsroom)["source"]).content.decode()
    assert outlet.count('class="card"') == (n + 2) // 3  # every third story cites the first outlet


def test_home_with_its_cards_cached_runs_two_queries(client, django_assert_num_queries, newsroom, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    first = client.get(reverse("articles:home"))
    with django_assert_num_queries(2):  # the navigation and the lists' card keys
        second = client.get(reverse("articles:home"))
    assert second.content == first.content
