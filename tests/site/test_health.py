"""Health checks: /healthz/live is 4 bytes and touches nothing; /healthz/ready checks database and cache."""

import pytest
from django.core.cache import caches
from django.db import OperationalError, connection
from django.test import RequestFactory
from django.urls import resolve

from articles.site import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def rf():
    return RequestFactory()


def test_live_is_four_bytes_of_plain_text_never_cached(rf, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = health.live(rf.get("/healthz/live"))
    assert response.status_code == 200
    assert response.content == b"live"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]


def test_health_checks_only_answer_get_and_head(rf):
    assert health.live(rf.post("/healthz/live")).status_code == 405
    assert health.ready(rf.post("/healthz/ready")).status_code == 405
    assert health.live(rf.head("/healthz/live")).status_code == 200


def test_ready_when_database_and_cache_answer(rf, settings):
    settings.DATABASE_ROUTERS = []  # no read replica, even when one is configured (tests/replicas)
    response = health.ready(rf.get("/healthz/ready"))
    assert response.status_code == 200
    assert response.content == b"ready\ndatabase: ok\ncache: ok\n"
    assert "no-store" in response["Cache-Control"]


def test_not_ready_when_the_database_fails(rf, monkeypatch, caplog):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection to server at 10.0.0.9 failed: secret detail")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = health.ready(rf.get("/healthz/ready"))
    assert response.status_code == 503
    body = response.content.decode()
    assert body.startswith("not ready\n")
    assert "database: down (OperationalError)" in body
    assert "cache: ok" in body
    # The details are logged for the operator, not handed to whoever asks.
    assert "secret detail" not in body
    assert "secret detail" in caplog.text


def test_not_ready_when_the_cache_loses_values(rf, monkeypatch, settings, local_memory_cache):
    monkeypatch.setattr(caches["default"], "get", lambda *args, **kwargs: None)
    response = health.ready(rf.get("/healthz/ready"))
    assert response.status_code == 503
    assert "cache: down (RuntimeError)" in response.content.decode()
    assert "database: ok" in response.content.decode()


def test_not_ready_when_the_cache_is_unreachable(rf, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    backend = caches["default"]
    # Redis is asked directly (PING, past its circuit breaker); local memory by a value stored.
    monkeypatch.setattr(backend, "ping" if hasattr(backend, "ping") else "set", unreachable)
    response = health.ready(rf.get("/healthz/ready"))
    assert response.status_code == 503
    assert "cache: down (ConnectionError)" in response.content.decode()


@pytest.mark.parametrize(("path", "view"), [("/healthz/live", health.live), ("/healthz/ready", health.ready)])
def test_routed_without_a_trailing_slash(path, view):
    match = resolve(path)  # Resolver404 here: add the two healthz lines to articles/urls.py
    assert match.func is view


def test_plain_http_probe_is_neither_redirected_nor_page_cached(client, settings):
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz/"]
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    for _ in range(2):
        response = client.get("/healthz/live")
        assert response.status_code == 200
        assert response.content == b"live"
        assert "X-Page-Cache" not in response
    assert client.get("/healthz/ready").content.startswith(b"ready\n")
