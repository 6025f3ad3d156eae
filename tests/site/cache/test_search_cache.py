"""Anonymous readers' results pages are kept briefly: a repeat runs no SQL, a change shows at once,
signed-in users and rejected queries are never kept, and a cache that keeps nothing only means no
caching."""

import pytest
from django.urls import reverse

from articles.models import Article
from articles.site.cache.pagecache import bump_content_version
from tests.factories import ArticleFactory
from tests.site.test_search import SEARCH, titles

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600


@pytest.fixture
def glacier():
    return ArticleFactory(title="Glacier retreat measured")


def test_a_repeated_query_runs_no_sql(client, glacier, django_assert_num_queries):
    first = client.get(SEARCH, {"q": "glacier"})
    assert first["X-Search-Cache"] == "miss"
    with django_assert_num_queries(0):
        second = client.get(SEARCH, {"q": "glacier"})
    assert second.status_code == 200
    assert second["X-Search-Cache"] == "hit"
    assert second.content == first.content
    assert titles(second.content.decode()) == ["Glacier retreat measured"]


def test_spellings_of_one_query_share_a_page(client, glacier, django_assert_num_queries):
    first = client.get(SEARCH, {"q": "glacier  OR OR volcano", "utm_source": "x"})
    assert "“glacier OR volcano”" in first.content.decode()
    with django_assert_num_queries(0):
        again = client.get(SEARCH, {"q": "glacier or volcano"})
    assert again["X-Search-Cache"] == "hit"


def test_each_page_number_is_kept_apart(client):
    for n in range(23):
        ArticleFactory(title=f"Glacier update {n}")
    first = client.get(SEARCH, {"q": "glacier"}).content.decode()
    second = client.get(SEARCH, {"q": "glacier", "page": "2"})
    assert second["X-Search-Cache"] == "miss"
    assert len(titles(second.content.decode())) == 3
    # Links are built from the query as searched, not from the address the page was asked for.
    assert 'href="?q=glacier&amp;page=2"' in first


@pytest.mark.parametrize("change", ["new", "edit", "unpublish", "delete"])
def test_a_content_change_is_seen_at_once(client, glacier, change):
    assert titles(client.get(SEARCH, {"q": "glacier"}).content.decode()) == ["Glacier retreat measured"]
    expected = []
    if change == "new":
        ArticleFactory(title="Glacier lake bursts")
        expected = ["Glacier lake bursts", "Glacier retreat measured"]
    elif change == "edit":
        glacier.title = "Glacier retreat slows"
        glacier.save()
        expected = ["Glacier retreat slows"]
    elif change == "unpublish":
        glacier.status = Article.Status.DRAFT
        glacier.save()
    else:
        glacier.delete()
    response = client.get(SEARCH, {"q": "glacier"})
    assert response["X-Search-Cache"] == "miss"
    assert sorted(titles(response.content.decode())) == sorted(expected)


def test_a_change_made_on_another_server_is_seen_at_once(client, glacier):
    client.get(SEARCH, {"q": "glacier"})
    Article.objects.filter(pk=glacier.pk).update(title="Glacier edited elsewhere")  # no signal here
    bump_content_version()
    assert titles(client.get(SEARCH, {"q": "glacier"}).content.decode()) == ["Glacier edited elsewhere"]


def test_signed_in_users_pages_are_never_kept(client, editor_client, glacier):
    for _ in range(2):
        response = editor_client.get(SEARCH, {"q": "glacier"})
        assert response.status_code == 200
        assert "X-Search-Cache" not in response
    # Nothing the editor saw was kept for anonymous readers.
    assert client.get(SEARCH, {"q": "glacier"})["X-Search-Cache"] == "miss"


def test_rejected_queries_are_never_kept(client):
    for _ in range(2):
        response = client.get(SEARCH, {"q": "a" * 201})
        assert response.status_code == 400
        assert "X-Search-Cache" not in response


def test_without_a_cache_every_search_runs(client, glacier, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    for _ in range(2):
        response = client.get(SEARCH, {"q": "glacier"})
        assert response["X-Search-Cache"] == "miss"
        assert titles(response.content.decode()) == ["Glacier retreat measured"]


def test_nothing_is_kept_while_the_page_cache_is_off(client, glacier, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    for _ in range(2):
        response = client.get(SEARCH, {"q": "glacier"})
        assert "X-Search-Cache" not in response
        assert titles(response.content.decode()) == ["Glacier retreat measured"]


def test_the_search_form_alone_is_not_kept(client):
    response = client.get(reverse("articles:search"))
    assert response.status_code == 200
    assert "X-Search-Cache" not in response
