"""The anonymous page cache: hits run no query, changes show at once, staff and search never cached."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from articles.models import Article
from articles.pagecache import bump_content_version
from tests.factories import ArticleFactory, CategoryFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def story():
    return ArticleFactory(category=CategoryFactory(slug="world"), title="Harbour talks resume")


def page_urls(story):
    return [
        reverse("articles:home"),
        reverse("articles:section", kwargs={"section": "world"}),
        story.get_absolute_url(),
        reverse("articles:feed_rss"),
        reverse("articles:sitemap_index"),
        reverse("articles:robots"),
    ]


def test_a_hit_runs_no_query_and_sets_no_cookie(client, story, django_assert_num_queries):
    for url in page_urls(story):
        first = client.get(url)
        assert first.status_code == 200, url
        assert first["X-Page-Cache"] == "miss"
        with django_assert_num_queries(0):
            second = client.get(url)
        assert second["X-Page-Cache"] == "hit"
        assert second.content == first.content
        assert not second.cookies and not first.cookies
        assert "Cookie" not in second.get("Vary", "")
        control = second["Cache-Control"]
        assert "public" in control and "s-maxage=" in control and "stale-while-revalidate=" in control


def test_unknown_query_parameters_share_the_cached_page(client, story, django_assert_num_queries):
    client.get(reverse("articles:home"))
    with django_assert_num_queries(0):
        assert client.get(reverse("articles:home"), {"utm_source": "x"})["X-Page-Cache"] == "hit"


def test_conditional_requests_get_304(client, story):
    url = story.get_absolute_url()
    first = client.get(url)
    again = client.get(url, headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304
    since = client.get(url, headers={"if-modified-since": first["Last-Modified"]})
    assert since.status_code == 304


@pytest.mark.parametrize("change", ["edit", "unpublish", "delete", "outlet", "section"])
def test_every_content_change_shows_at_once(client, story, change):
    url = reverse("articles:home")
    assert b"Harbour talks resume" in client.get(url).content
    if change == "edit":
        story.title = "Harbour talks collapse"
        story.save()
        expected, gone = b"Harbour talks collapse", b"Harbour talks resume"
    elif change == "unpublish":
        story.status = Article.Status.DRAFT
        story.save()
        expected, gone = None, b"Harbour talks resume"
    elif change == "delete":
        story.delete()
        expected, gone = None, b"Harbour talks resume"
    elif change == "outlet":
        SourceFactory(name="Brand new outlet")
        expected, gone = None, None
    else:
        story.category.name = "Worldwide"
        story.category.save()
        expected, gone = b"Worldwide", None
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    if expected:
        assert expected in response.content
    if gone:
        assert gone not in response.content


def test_a_scheduled_story_appears_when_its_time_comes(client, story):
    start = timezone.now()
    due = start + timedelta(minutes=5)
    ArticleFactory(title="Embargoed budget story", published_at=due)
    url = reverse("articles:home")
    with freeze_time(start) as frozen:
        assert b"Embargoed budget story" not in client.get(url).content
        frozen.move_to(due - timedelta(seconds=1))
        assert client.get(url)["X-Page-Cache"] == "hit"
        frozen.move_to(due + timedelta(seconds=1))
        assert b"Embargoed budget story" in client.get(url).content


def test_staff_and_search_are_never_cached(client, editor_client, story, django_assert_max_num_queries):
    url = story.get_absolute_url()
    for _ in range(2):
        response = editor_client.get(url)
        assert "X-Page-Cache" not in response
        assert "private" in response["Cache-Control"]
    search = reverse("articles:search")
    for _ in range(2):
        response = client.get(search, {"q": "harbour"})
        assert "X-Page-Cache" not in response
    # An anonymous reader afterwards gets a page rendered for anonymous readers.
    assert client.get(url)["X-Page-Cache"] == "miss"


def test_admin_preview_is_never_cached(editor_client):
    draft = ArticleFactory(draft=True)
    url = reverse("admin:articles_article_preview", args=[draft.pk])
    response = editor_client.get(url)
    assert "X-Page-Cache" not in response
    assert "no-store" in response["Cache-Control"]


def test_cache_off_renders_every_time(client, story, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    url = story.get_absolute_url()
    client.get(url)
    assert "X-Page-Cache" not in client.get(url)


def test_a_change_made_on_another_server_reaches_this_worker_at_once(client, story):
    """Each worker keeps hot pages locally, but checks the shared version on every hit."""
    url = reverse("articles:home")
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    # Another app server edits the story: the row changes and the shared version moves, but no
    # signal fires in this process.
    Article.objects.filter(pk=story.pk).update(title="Edited elsewhere", updated_at=timezone.now())
    bump_content_version()
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert b"Edited elsewhere" in response.content
