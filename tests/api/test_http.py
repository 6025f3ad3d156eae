"""HTTP around the API: ETag and 304, Cache-Control as the pages, answers kept per content version,
the per-client rate limit (cache hits included), CORS for /api/ only."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from articles.site.cache.content_version import bump_content_version
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/v1/stories/", "/api/v1/sections/", "/api/v1/outlets/", "/api/v1/outlets/left-times/",
             "/api/v1/blindspots/", "/api/v1/openapi.json"]  # fmt: skip


@pytest.fixture
def cached(settings, local_memory_cache):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    settings.NEWSAPP_API_RATE = "1000/min"


@pytest.mark.parametrize("page_cache", [0, 600])
def test_etag_304_and_the_pages_cache_control(client, newsroom, settings, page_cache):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = page_cache
    for url in [*ENDPOINTS, f"/api/v1/stories/{newsroom['live'].pk}/"]:
        first = client.get(url)
        assert first.status_code == 200
        if page_cache:
            assert first["Cache-Control"] == "public, max-age=30, s-maxage=60, stale-while-revalidate=30"
        else:  # as the pages: nobody is told to keep what the site does not keep itself
            assert "Cache-Control" not in first
        etag = first["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again["ETag"] == etag and again.content == b""
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_answers_are_kept_until_the_content_changes(client, newsroom, cached):
    first = client.get("/api/v1/stories/")
    assert first["X-Api-Cache"] == "miss"
    hit = client.get("/api/v1/stories/?utm_source=feed")  # a parameter the view does not read: same answer
    assert hit["X-Api-Cache"] == "hit"
    assert hit.content == first.content and hit["ETag"] == first["ETag"]
    assert client.get("/api/v1/stories/?section=world")["X-Api-Cache"] == "miss"
    assert client.get("/api/v1/stories/", headers={"If-None-Match": first["ETag"]}).status_code == 304
    story = ArticleFactory(title="Fresh news", published_at=timezone.now() - timedelta(seconds=1))
    bump_content_version()
    fresh = client.get("/api/v1/stories/")
    assert fresh["X-Api-Cache"] == "miss" and fresh.json()["results"][0]["id"] == story.pk
    assert client.get("/api/v1/stories/", headers={"If-None-Match": first["ETag"]}).status_code == 200


def test_a_scheduled_story_shows_when_due_though_nothing_changed(client, newsroom, cached):
    from datetime import timedelta

    from django.utils import timezone

    scheduled = newsroom["hidden"]["scheduled"]
    assert scheduled.pk not in [s["id"] for s in client.get("/api/v1/stories/").json()["results"]]
    with freeze_time(timezone.now() + timedelta(days=1, minutes=1)):
        answer = client.get("/api/v1/stories/")
        assert answer["X-Api-Cache"] == "miss"
        assert scheduled.pk in [s["id"] for s in answer.json()["results"]]


def test_the_rate_limit_counts_every_request_cache_hits_included(client, newsroom, cached, settings):
    settings.NEWSAPP_API_RATE = "3/min"
    answers = [client.get("/api/v1/sections/") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a["X-Api-Cache"] for a in answers] == ["miss", "hit", "hit"]
    refused = client.get("/api/v1/sections/")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Request was throttled.")
    for url in [
        "/api/v1/stories/",
        "/api/v1/downloads/outlets.csv",
        "/api/v1/nothing/",
        "/api/v1/openapi.json",
    ]:
        assert client.get(url).status_code == 429, url
    # Another client has its own allowance.
    assert client.get("/api/v1/sections/", REMOTE_ADDR="192.0.2.7").status_code == 200


def test_the_rate_limit_follows_the_trusted_proxy_header(client, newsroom, settings):
    settings.NEWSAPP_API_RATE = "1/min"
    settings.NEWSAPP_CLIENT_IP_HEADER = "X-Forwarded-For"
    headers = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/api/v1/sections/", headers=headers).status_code == 200
    assert client.get("/api/v1/sections/", headers=headers).status_code == 429
    # A forged first entry does not make a new client: the proxy's own (last) entry counts.
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    assert client.get("/api/v1/sections/", headers=forged).status_code == 429
    assert client.get("/api/v1/sections/", headers={"X-Forwarded-For": "203.0.113.10"}).status_code == 200


def test_cors_for_the_api_only(client, newsroom):
    origin = {"Origin": "https://elsewhere.example"}
    for url in ["/api/v1/stories/", "/api/v1/downloads/outlets.json", "/api/v1/nothing/"]:
        response = client.get(url, headers=origin)
        assert response["Access-Control-Allow-Origin"] == "*", url
        assert "Access-Control-Allow-Credentials" not in response
        assert "ETag" in response["Access-Control-Expose-Headers"]
    preflight = client.options("/api/v1/stories/", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    for url in ["/", "/world/", newsroom["live"].get_absolute_url(), "/feed/"]:
        response = client.get(url, headers=origin)
        assert "Access-Control-Allow-Origin" not in response, url
    refused = client.options("/world/", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in refused


def test_no_cookie_and_no_session_on_the_api(client, newsroom, editor_client, cached):
    for who in (client, editor_client):
        response = who.get("/api/v1/stories/")
        assert not response.cookies
        assert response["Cache-Control"].startswith("public")
    assert editor_client.get("/api/v1/stories/").content == client.get("/api/v1/stories/").content
