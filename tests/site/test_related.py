"""Related stories under an article: same section, sharing sources first, then the section's newest.

Hidden stories (draft, scheduled, unpublished) are part of every setup here; the full visibility
matrix is in test_public_pages.py and the article page's fixed query count in test_query_counts.py.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ArticleFactory, ArticleSourceFactory, CategoryFactory, SourceFactory

pytestmark = pytest.mark.django_db

RELATED_COUNT = 4


def days_ago(n):
    return timezone.now() - timedelta(days=n)


def story(title, section="world", outlets=(), **kwargs):
    article = ArticleFactory(title=title, category=CategoryFactory(slug=section), **kwargs)
    for outlet in outlets:
        ArticleSourceFactory(article=article, source=outlet)
    return article


def related(client, article):
    """Titles of the related stories, in the order shown."""
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    if 'id="related-heading"' not in html:
        return []
    block = html[html.index('id="related-heading"') :]
    return re.findall(r'class="card-title"><a href="[^"]+">([^<]+)</a>', block)


@pytest.fixture
def outlets():
    return SourceFactory(name="Shared Outlet"), SourceFactory(name="Other Outlet")


def test_stories_sharing_a_source_come_first_then_the_sections_newest(client, outlets):
    shared, other = outlets
    article = story("The story", outlets=[shared], published_at=days_ago(10))
    story("Sharing, older", outlets=[shared, other], published_at=days_ago(20))
    story("Sharing, newer", outlets=[shared], published_at=days_ago(15))
    story("Section newest", outlets=[other], published_at=days_ago(1))
    story("Section second", published_at=days_ago(2))
    story("Section third", published_at=days_ago(3))
    # Never shown, however close a match:
    story("Other section", section="politics", outlets=[shared], published_at=days_ago(1))
    story("A draft", outlets=[shared], draft=True)
    story("Scheduled", outlets=[shared], scheduled=True)
    story("Unpublished", outlets=[shared], unpublished=True, published_at=days_ago(1))
    assert related(client, article) == [
        "Sharing, newer",
        "Sharing, older",
        "Section newest",
        "Section second",
    ]


def test_many_stories_sharing_a_source_fill_the_list_newest_first(client, outlets):
    shared, _ = outlets
    article = story("The story", outlets=[shared], published_at=days_ago(10))
    for n in range(6):
        story(f"Sharing {n}", outlets=[shared], published_at=days_ago(20 + n))
    story("Section newest", published_at=days_ago(1))
    assert related(client, article) == [f"Sharing {n}" for n in range(RELATED_COUNT)]


def test_a_story_without_sources_gets_the_sections_newest(client):
    article = story("The story", published_at=days_ago(10))
    story("Section newest", published_at=days_ago(1))
    story("Section older", published_at=days_ago(30))
    story("Other section", section="sports", published_at=days_ago(1))
    assert related(client, article) == ["Section newest", "Section older"]


def test_a_stories_duplicate_citations_do_not_repeat_a_relative(client, outlets):
    shared, other = outlets
    article = story("The story", outlets=[shared, other])
    story("Sharing both", outlets=[shared, other])
    assert related(client, article) == ["Sharing both"]


def test_alone_in_its_section_there_is_no_related_block(client, outlets):
    shared, _ = outlets
    article = story("The story", outlets=[shared])
    story("Other section", section="business", outlets=[shared])
    story("A draft", outlets=[shared], draft=True)
    story("Scheduled", outlets=[shared], scheduled=True)
    assert related(client, article) == []
