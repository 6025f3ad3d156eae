"""Degrade, don't fail: the site with its cache refused, frozen, killed or back from an old
snapshot, and with its database stopped and started again under a running server.

The in-process tests need nothing but a closed port or a socket that never answers; the drills
marked `redis` and `postgres` break real servers of their own (the second CI run has both).
"""

import json
import time
import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse

from articles.models import Article
from tests import outages, servers
from tests.admin.test_admin import browser_post
from tests.factories import ArticleFactory, CategoryFactory

pytestmark = pytest.mark.django_db

# Generous: a frozen cache used to cost 5 s and then a 500 on every page.
WALL_CLOCK_GUARD = 2.0


def use_redis_at(settings, url: str, *, cooldown: float = 5.0) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "newsapp.redis_cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25, "cooldown": cooldown},
        }
    }


@pytest.fixture
def story():
    return ArticleFactory(category=CategoryFactory(slug="world"), title="Harbour talks resume")


def pages(story):
    return [
        reverse("articles:home"),
        reverse("articles:section", kwargs={"section": "world"}),
        story.get_absolute_url(),
    ]


def timed_get(client, url):
    started = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - started


# --- In-process: a cache that refuses or never answers ---------------------------------------------


def test_with_the_cache_refused_pages_are_rendered_and_an_admin_save_succeeds(
    settings, client, editor_client, story
):
    use_redis_at(settings, f"redis://127.0.0.1:{outages.closed_port()}/0")
    for url in pages(story):
        for _ in range(2):
            response, took = timed_get(client, url)
            assert response.status_code == 200, url
            assert response["X-Page-Cache"] == "miss"
            assert took < WALL_CLOCK_GUARD
    response = browser_post(
        editor_client,
        reverse("admin:articles_article_change", args=[story.pk]),
        title="Saved with the cache down",
    )
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.title == "Saved with the cache down"
    assert b"Saved with the cache down" in client.get(story.get_absolute_url()).content
    ready = client.get("/healthz/ready")
    assert ready.status_code == 503 and b"cache: down (ConnectionError)" in ready.content


def test_with_the_cache_frozen_only_the_first_call_waits(settings, client, editor_client, story):
    frozen = outages.FrozenServer()
    try:
        use_redis_at(settings, f"redis://127.0.0.1:{frozen.port}/0")
        took = []
        for url in pages(story) * 3:
            response, seconds = timed_get(client, url)
            assert response.status_code == 200, url
            took.append(seconds)
        # One socket timeout (0.25 s) opened the breaker; the other loads never waited for Redis.
        assert max(took) < WALL_CLOCK_GUARD and sum(took) < WALL_CLOCK_GUARD, took
        assert cache.breaker.is_open
        response = browser_post(
            editor_client,
            reverse("admin:articles_article_change", args=[story.pk]),
            title="Saved while frozen",
        )
        assert response.status_code == 302
        assert Article.objects.get(pk=story.pk).title == "Saved while frozen"
    finally:
        frozen.close()


# --- Drills with real servers ------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_frozen_killed_and_back_from_an_old_snapshot(prepared_newsroom, tmp_path):
    """granian serving, Redis frozen then killed; stories saved from another process meanwhile;
    Redis back (once from a snapshot holding the old pages): no page older than the last save."""
    redis = outages.RedisServer(tmp_path)
    servers.copy_newsroom(prepared_newsroom, tmp_path)
    env = servers.base_env(tmp_path, debug=False)
    env.update(CACHE_URL=redis.url, NEWSAPP_CACHE_COOLDOWN="1")
    server = servers.start("granian", env, tmp_path, workers=1)
    report = {}

    def retitle(title):
        servers.manage(
            env,
            "shell",
            "-c",
            "from articles.models import Article\n"
            "story = Article.objects.published().order_by('-published_at').first()\n"
            f"story.title = {title!r}\n"
            "story.save()\n",
        )

    def home():
        started = time.monotonic()
        status, headers, body = server.get("/")
        return status, headers, body, time.monotonic() - started

    try:
        for _ in range(2):
            status, headers, _, _ = home()
        assert status == 200 and headers["X-Page-Cache"] == "hit"
        redis.snapshot()  # the cached pages as they are now, for the restart below

        redis.freeze()
        loads = [home() for _ in range(10)]
        assert all(status == 200 for status, *_ in loads)
        report["frozen: slowest load (s)"] = round(max(took for *_, took in loads), 3)
        report["frozen: all 10 loads (s)"] = round(sum(took for *_, took in loads), 3)
        status, _, body = server.get("/healthz/ready")
        assert status == 503 and b"cache: down" in body
        retitle("Saved while Redis was frozen")
        redis.thaw()
        time.sleep(1.2)  # the breaker's cool-off: then one call tries Redis again
        for _ in range(5):
            status, _, body, _ = home()
            assert status == 200 and b"Saved while Redis was frozen" in body

        redis.kill()
        retitle("Saved while Redis was down")
        status, _, body, _ = home()
        assert status == 200 and b"Saved while Redis was down" in body
        redis.start()  # from the snapshot: the old pages and the old counter are back
        assert redis.cli("DBSIZE") != "0"
        time.sleep(1.2)
        for _ in range(5):
            status, _, body, _ = home()
            assert status == 200 and b"Saved while Redis was down" in body, "an old page came back"
        status, headers, _, _ = home()
        assert headers["X-Page-Cache"] == "hit"  # and the cache works again
        print(json.dumps(report))
    finally:
        server.stop()
        redis.stop()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres_stopped_and_started_under_a_running_server(tmp_path, settings):
    """Cached pages keep coming; anything else is the 503 page with Retry-After; robots.txt,
    static files and the liveness check need no database; it all comes back with no restart."""
    cluster = outages.PostgresCluster()
    try:
        env = servers.base_env(tmp_path, debug=False)
        env.update(DATABASE_URL=cluster.url, DJANGO_CONN_MAX_AGE="60")
        if "redis" in settings.CACHES["default"]["BACKEND"].lower():
            env.update(
                CACHE_URL=settings.CACHES["default"]["LOCATION"], CACHE_KEY_PREFIX=f"drill-{uuid.uuid4().hex}"
            )
        else:
            env.update(CACHE_URL=f"filecache://{tmp_path / 'cache'}")
        for command in (
            ("migrate", "--noinput", "-v0"),
            ("seed_demo", "-v0"),
            ("collectstatic", "--noinput", "-v0"),
        ):
            servers.manage(env, *command)
        facts = json.loads(
            servers.manage(
                env,
                "shell",
                "-v0",
                "-c",
                "import json\nfrom articles.models import Article\n"
                "live = Article.objects.published().order_by('-published_at')\n"
                "print(json.dumps([a.get_absolute_url() for a in live[:2]]))",
            ).splitlines()[-1]
        )
        server = servers.start("granian", env, tmp_path)
        try:
            cached = ["/", "/world/", facts[0]]
            for path in cached * 2:
                assert server.get(path)[0] == 200
            cluster.crash()
            for path in cached:
                status, headers, _ = server.get(path)
                assert status == 200 and headers["X-Page-Cache"] == "hit", path
            status, headers, body = server.get(facts[1])
            assert status == 503 and headers["Retry-After"].isdigit()
            assert b"back in a moment" in body
            for path in ("/robots.txt", "/static/css/site.css", "/healthz/live"):
                assert server.get(path)[0] == 200, path
            status, _, body = server.get("/healthz/ready")
            assert status == 503 and b"database: down" in body
            cluster.start()
            deadline = time.monotonic() + 15
            while server.get(facts[1])[0] != 200:
                assert time.monotonic() < deadline, "the site did not recover without a restart"
                time.sleep(0.25)
            assert server.get("/healthz/ready")[0] == 200
        finally:
            server.stop()
    finally:
        cluster.remove()


@pytest.mark.redis
def test_a_committed_save_tells_redis_even_while_this_process_has_given_up_on_it(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    """Redis is back but this process's breaker is still open: the save's bump tries it anyway, so
    servers that never saw the outage do not keep serving the old page until their next database read."""
    import redis as redis_client

    from articles.site.cache.content_version import VERSION_KEY

    server = outages.RedisServer(tmp_path)
    try:
        use_redis_at(settings, server.url)
        raw = redis_client.Redis(port=server.port)
        cache.set(VERSION_KEY, 100, timeout=None)
        cache.breaker.failed(ConnectionError("an outage just ended"))
        assert cache.breaker.is_open
        with django_capture_on_commit_callbacks(execute=True):
            ArticleFactory(title="Saved as Redis came back")
        # The bump during the transaction was skipped (breaker open); the one after commit was not.
        assert int(raw.get(cache.make_key(VERSION_KEY))) == 101
    finally:
        server.stop()
