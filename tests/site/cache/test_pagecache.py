"""The anonymous page cache: hits run no query, changes show at once, staff and search never cached."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from articles.models import Article
from articles.site.cache.pagecache import SIGNED_IN_COOKIE, bump_content_version, signed_in_value
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


# --- Only sessions this site issued skip the cache -----------------------------------------------


@pytest.mark.parametrize(
    "cookies",
    [
        {"sessionid": "x"},
        {"sessionid": "0123456789abcdefghijklmnopqrstuv"},
        {"sessionid": "abc", "signedin": "forged:1vX:abc"},
        {"signedin": "anything"},
    ],
    ids=["made-up", "well-formed-made-up", "forged-companion", "companion-alone"],
)
def test_a_made_up_session_cookie_is_served_from_the_cache(client, story, cookies, django_assert_num_queries):
    url = story.get_absolute_url()
    assert client.get(url)["X-Page-Cache"] == "miss"
    for name, value in cookies.items():
        client.cookies[name] = value
    with django_assert_num_queries(0):
        assert client.get(url)["X-Page-Cache"] == "hit"


def test_a_real_sign_in_sets_the_companion_and_skips_the_cache(client, editor, story):
    editor.set_password("a long pass phrase for tests")
    editor.save()
    client.get(story.get_absolute_url())
    response = client.post(
        reverse("admin:login"), {"username": "editor", "password": "a long pass phrase for tests"}
    )
    assert response.status_code == 302
    companion = response.cookies[SIGNED_IN_COOKIE]
    session = response.cookies["sessionid"]
    assert companion.value and companion["httponly"]
    assert companion["max-age"] == session["max-age"] and companion["samesite"] == session["samesite"]
    assert "X-Page-Cache" not in client.get(story.get_absolute_url())
    # Signing out deletes both: the same browser is a reader again.
    response = client.post(reverse("admin:logout"))
    assert response.cookies[SIGNED_IN_COOKIE].value == ""
    assert client.get(story.get_absolute_url())["X-Page-Cache"] == "hit"


def test_a_companion_of_another_session_or_an_expired_one_does_not_count(client, story, settings):
    url = story.get_absolute_url()
    client.get(url)
    client.cookies["sessionid"] = "a" * 32
    client.cookies[SIGNED_IN_COOKIE] = signed_in_value("b" * 32)
    assert client.get(url)["X-Page-Cache"] == "hit"
    client.cookies[SIGNED_IN_COOKIE] = signed_in_value("a" * 32)
    assert "X-Page-Cache" not in client.get(url)
    assert signed_in_request(client)
    with freeze_time(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)):
        assert not signed_in_request(client)


def signed_in_request(client):
    from django.test import RequestFactory

    from articles.site.cache.pagecache import signed_in

    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    return signed_in(request)
