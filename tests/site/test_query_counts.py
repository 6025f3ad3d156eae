"""Every public page runs a fixed number of queries, whatever the number of stories behind it."""

import itertools
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

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
    # 5 its balance: the section's voices per day over the last 30 days (coverage_tags.section_balance)
    "section": 5,
    # 1 the story with its section and rating  2 its citations with their outlets
    # 3 related stories sharing an outlet  4 the section's newest to top them up  5 the navigation
    "article": 5,
    # 1 the outlet  2 its ratings  3 its stories of the last 30 days  4 the navigation
    # 5 its share of each section's stories  6 the page of stories (cursor paging: no count)
    "source": 6,
    # 1 the navigation  2 the count of outlets  3 the page of outlets  4 their ratings
    # 5 their stories of the last 30 days (one GROUP BY over the page's outlets)
    "sources": 5,
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
        "sources": reverse("articles:sources"),
    }


@pytest.mark.parametrize("name", QUERIES)
def test_queries_per_page_are_fixed(client, django_assert_num_queries, newsroom, name, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # the render itself; test_pagecache.py covers cache hits
    settings.NEWSAPP_FRAGMENT_CACHE = False  # from scratch: the warm counts are tested below
    url = urls(newsroom)[name]
    with django_assert_num_queries(QUERIES[name]):
        response = client.get(url)
    assert response.status_code == 200
    # The directory lists outlets, every other page the story.
    shown = newsroom["outlet"].name if name == "sources" else newsroom["story"].title
    assert shown.encode() in response.content


def test_the_pages_really_show_the_stories(client, newsroom):
    """The fixed counts above are for pages that show many stories, not for empty ones."""
    n = newsroom["n"]
    world = client.get(urls(newsroom)["section"]).content.decode()
    assert world.count('class="card"') == min((n + 4) // 5, 20)
    outlet = client.get(urls(newsroom)["source"]).content.decode()
    assert outlet.count('class="card"') == (n + 2) // 3  # every third story cites the first outlet


WARM = {
    # the lists' card keys (the navigation is kept per content version, the cards per story version)
    "home": 1,
    # the section  the page of stories (its count, the navigation, its balance: kept)
    "section": 2,
    # the story  its citations (the related stories: kept per content version)
    "article": 2,
    # the outlet  its ratings  its recent stories  its section shares  the page of stories
    "source": 5,
    # the page of outlets  their ratings  their recent stories (the count and the navigation: kept)
    "sources": 3,
}


@pytest.mark.parametrize("name", WARM)
def test_a_second_render_reuses_the_kept_fragments(
    client, django_assert_num_queries, newsroom, name, settings
):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = True
    url = urls(newsroom)[name]
    first = client.get(url)
    with django_assert_num_queries(WARM[name]):
        second = client.get(url)
    assert second.content == first.content


def test_kept_fragments_follow_a_content_change(client, newsroom, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = True
    story = newsroom["story"]
    assert b"Renamed section" not in client.get(story.get_absolute_url()).content
    section = story.category
    section.name = "Renamed section"
    section.save()
    other = ArticleFactory(
        category=section, title="A newer story in the same section", published_at=timezone.now()
    )
    ArticleSourceFactory(article=other, source=newsroom["outlet"])  # related: newest sharing an outlet
    page = client.get(story.get_absolute_url()).content.decode()
    assert "Renamed section" in page  # the navigation
    assert other.title in page  # the related stories


def test_kept_related_stories_make_way_for_a_scheduled_story_on_time(
    client, newsroom, settings, local_memory_cache
):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = True
    story = newsroom["story"]
    due = timezone.now() + timedelta(hours=1)
    scheduled = ArticleFactory(category=story.category, title="Goes live in an hour", published_at=due)
    ArticleSourceFactory(article=scheduled, source=newsroom["outlet"])
    assert scheduled.title not in client.get(story.get_absolute_url()).content.decode()
    with freeze_time(due + timedelta(seconds=1)):
        assert scheduled.title in client.get(story.get_absolute_url()).content.decode()
