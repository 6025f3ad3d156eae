"""What the proxy is told: every cacheable answer's surrogate keys, on a miss and on a hit; a lifetime
(stale time included) that never runs past the next scheduled story; nothing it may keep for an
error, a redirect or a page rendered while the content changed."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from freezegun import freeze_time

from articles.models import Article
from articles.site import views
from articles.site.cache import pagecache, surrogate
from tests.factories import ArticleFactory
from tests.proxy import newsroom as site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache")]


def directives(control: str) -> dict[str, int | bool]:
    found = {}
    for part in filter(None, (p.strip() for p in control.split(","))):
        name, _, value = part.partition("=")
        found[name] = int(value) if value else True
    return found


def test_every_cacheable_answer_carries_its_keys_on_a_miss_and_on_a_hit(client):
    newsroom = site.build()
    named = site.urls(newsroom)
    served = set()
    for name, url in named.items():
        first, again = client.get(url), client.get(url)
        if first.status_code != 200:
            continue
        keys = first["Surrogate-Key"].split()
        assert keys and again["Surrogate-Key"].split() == keys, name
        html = first["Content-Type"].startswith("text/html")
        assert (surrogate.SITE in keys) == html, name
        assert set(keys) - {surrogate.SITE}, name  # what the page itself shows, besides the navigation
        if url.startswith("/api/"):
            assert keys == [surrogate.API], name
        else:
            assert first["X-Page-Cache"] == "miss" and again["X-Page-Cache"] == "hit", name
            served.add(pagecache._view_name(url))
    # Every view the page cache serves was read above (a new one must be added to tests/proxy).
    assert served == pagecache.CACHEABLE_VIEWS


def test_listings_name_each_story_they_show(client):
    newsroom = site.build()
    home = client.get(reverse("articles:home"))["Surrogate-Key"].split()
    world = client.get(reverse("articles:section", kwargs={"section": "world"}))["Surrogate-Key"].split()
    story = client.get(newsroom["w1"].get_absolute_url())["Surrogate-Key"].split()
    outlet = client.get(newsroom["left"].get_absolute_url())["Surrogate-Key"].split()
    live = [newsroom[name] for name in ("w1", "w2", "p1")]
    assert {surrogate.HOME, *surrogate.story_keys(live)} <= set(home)
    assert surrogate.story(newsroom["draft"].pk) not in home
    assert {surrogate.section(newsroom["world"].pk), *surrogate.story_keys(live[:2])} <= set(world)
    w1 = newsroom["w1"]
    cited = {surrogate.outlet(newsroom["left"].pk), surrogate.outlet(newsroom["right"].pk)}
    assert {surrogate.story(w1.pk), surrogate.section(w1.category_id), *cited} <= set(story)
    assert {surrogate.outlet(newsroom["left"].pk), surrogate.story(w1.pk)} <= set(outlet)


def test_a_story_not_out_yet_is_a_404_nobody_keeps(client):
    scheduled = ArticleFactory(scheduled=True, title="Embargoed budget")
    for url in (scheduled.get_absolute_url(), f"/api/v1/stories/{scheduled.pk}/"):
        response = client.get(url)
        assert response.status_code == 404
        control = directives(response["Cache-Control"])
        assert "public" not in control and control.get("no-store"), url
        assert "Surrogate-Key" not in response


def test_a_redirect_to_a_moved_story_is_not_kept(client):
    story = ArticleFactory(title="Ferry fares rise")
    response = client.get(reverse("articles:article", kwargs={"section": "politics", "slug": story.slug}))
    assert response.status_code == 301
    assert "public" not in directives(response["Cache-Control"])


MOMENT = datetime(2027, 3, 28, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("seconds_left", [3600, 95, 75, 61, 45, 10, 1])
def test_no_answer_is_kept_past_the_next_scheduled_story(client, seconds_left):
    """On a miss and on a hit, for pages and the API: s-maxage (the proxy's TTL) plus any stale
    time it may add ends by the moment the next story goes live."""
    with freeze_time(MOMENT - timedelta(hours=2)) as frozen:
        ArticleFactory(title="Already out", published_at=MOMENT - timedelta(days=1))
        ArticleFactory(title="Embargoed budget", published_at=MOMENT)
        urls = [reverse("articles:home"), reverse("articles:feed_rss"), "/api/v1/stories/"]
        frozen.move_to(MOMENT - timedelta(seconds=seconds_left + 20))
        for url in urls:
            client.get(url)  # kept here, read back below as a hit
        for when in (seconds_left + 20, seconds_left):
            frozen.move_to(MOMENT - timedelta(seconds=when))
            for url in urls:
                control = directives(client.get(url)["Cache-Control"])
                assert control["public"] is True
                longest = max(control["s-maxage"], control["max-age"])
                stale = max(control.get("stale-while-revalidate", 0), control.get("stale-if-error", 0))
                assert control["s-maxage"] <= when and longest + stale <= when, (url, when, control)


def test_far_from_any_scheduled_story_the_usual_lifetime_holds():
    assert directives(pagecache.cache_control(600)) == {
        "public": True, "max-age": 30, "s-maxage": 60, "stale-while-revalidate": 30,
    }  # fmt: skip
    assert directives(pagecache.cache_control(70)) == {
        "public": True, "max-age": 30, "s-maxage": 60, "stale-while-revalidate": 10,
    }  # fmt: skip
    assert directives(pagecache.cache_control(60)) == {"public": True, "max-age": 30, "s-maxage": 60}
    assert directives(pagecache.cache_control(0)) == {"public": True, "max-age": 0, "s-maxage": 0}


def test_a_page_rendered_while_the_content_changed_is_kept_by_nobody(client, monkeypatch):
    """A change that lands while a page is rendered (the page may show the old content, and the
    change's purge of the proxy may already have gone by): sent as no-store, and not kept here."""
    ArticleFactory(title="Harbour strike ends")
    render = views.render

    def render_during_a_change(request, template, context=None, **options):
        response = render(request, template, context, **options)
        ArticleFactory(title="Published meanwhile")  # commits between the render and its answer
        return response

    monkeypatch.setattr(views, "render", render_during_a_change)
    home = reverse("articles:home")
    response = client.get(home)
    assert response.status_code == 200 and b"Harbour strike ends" in response.content
    assert directives(response["Cache-Control"]) == {"no-store": True}
    monkeypatch.setattr(views, "render", render)
    again = client.get(home)
    assert again["X-Page-Cache"] == "miss" and b"Published meanwhile" in again.content  # not kept
    assert "public" in directives(again["Cache-Control"])
    assert client.get(home)["X-Page-Cache"] == "hit"


def test_a_page_is_kept_as_usual_while_the_cache_is_away(client, settings):
    """With the shared cache unreachable there is no content version to compare (each read makes up
    a counter): pages still go out public, so the proxy shields the app servers meanwhile."""
    ArticleFactory(title="Harbour strike ends")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    response = client.get(reverse("articles:home"))
    assert response.status_code == 200
    assert "public" in directives(response["Cache-Control"]) and response["Surrogate-Key"]


@override_settings(NEWSAPP_PAGE_CACHE_SECONDS=600)
def test_downloads_carry_the_api_key(client):
    ArticleFactory(status=Article.Status.PUBLISHED)
    response = client.get("/api/v1/downloads/stories.csv")
    assert response.status_code == 200
    assert response["Surrogate-Key"] == surrogate.API and "public" in response["Cache-Control"]
