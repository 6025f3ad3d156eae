"""The friendly error pages: a crash shows our 500 page (no traceback, no internals)."""

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from articles.site import views

pytestmark = pytest.mark.django_db


def test_a_crash_shows_the_friendly_500_page(monkeypatch, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    url = reverse("articles:section", kwargs={"section": "world"})
    client = Client(raise_request_exception=False)
    assert client.get(url).status_code == 200

    def broken(*args, **kwargs):
        raise RuntimeError("boom: secret detail")

    monkeypatch.setattr(views, "render_cards", broken)
    response = client.get(url)
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "secret detail" not in html and "Traceback" not in html


# --- Error pages never touch the host, the query string, the database or the cache ----------------


def broken_database(monkeypatch):
    """Every new query fails as it does when PostgreSQL is down (or SQLite's file is locked)."""
    from django.db.backends.utils import CursorWrapper

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 10.0.0.9 failed: Connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    monkeypatch.setattr(CursorWrapper, "executemany", refuse)


@pytest.mark.parametrize("path", ["/", "/world/", "/no-such-section/", "/admin/", "/feed/", "/robots.txt"])
def test_a_host_we_do_not_serve_gets_a_400_page_on_every_url(path, settings, caplog):
    settings.ALLOWED_HOSTS = ["news.example.org"]
    client = Client(raise_request_exception=False)
    response = client.get(path, headers={"host": "evil.example.com"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This site does not answer to that host name." in html
    assert "ALLOWED_HOSTS" not in html and "evil.example.com" not in html


def test_too_many_query_parameters_get_a_400_page(settings):
    client = Client(raise_request_exception=False)
    query = "&".join(f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    for path in ("/", "/world/", "/search/", "/admin/login/"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert "more fields than any page of ours sends" in response.content.decode()
    response = client.post("/admin/login/", data=query, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


@pytest.mark.parametrize("digits", [8, 4301, 10_000])
def test_a_page_number_too_long_to_be_one_is_a_400(digits, client):
    page = "9" * digits
    for path in ("/", "/world/", "/search/?q=harbour&"):
        joiner = "" if path.endswith("&") else "?"
        response = Client(raise_request_exception=False).get(f"{path}{joiner}page={page}")
        assert response.status_code == 400, (path, digits)


def test_error_pages_render_without_the_database(monkeypatch):
    broken_database(monkeypatch)
    client = Client(raise_request_exception=False)
    for path, status in (("/", 503), ("/world/", 503), ("/admin/", 302), ("/robots.txt", 200)):
        response = client.get(path)
        assert response.status_code == status, path
    response = client.get("/")
    assert response["Retry-After"] == "30"
    assert "back in a moment" in response.content.decode()
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_a_crash_with_the_database_down_is_a_503_not_a_500(monkeypatch):
    broken_database(monkeypatch)
    response = Client(raise_request_exception=False).get("/sources/anything/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()


@pytest.mark.parametrize("status", [400, 403, 404, 500, 503])
def test_each_error_page_renders_with_no_request_at_all(status, django_assert_num_queries):
    from newsapp import errors

    handlers = {
        400: lambda: errors.bad_request(None, None),
        403: lambda: errors.permission_denied(None, None),
        404: lambda: errors.page_not_found(None, None),
        500: lambda: errors.render_error(None, "500.html", 500),
        503: lambda: errors.service_unavailable(None),
    }
    with django_assert_num_queries(0):
        response = handlers[status]()
    assert response.status_code == status
    assert b"<h1>" in response.content


def test_only_a_database_out_of_reach_is_a_503():
    """PostgreSQL's OperationalErrors are connection failures; SQLite's also cover queries it
    refuses, which are the request's fault, not an outage."""
    import sqlite3

    from newsapp.errors import unavailable

    def from_sqlite(message):
        try:
            raise OperationalError(message) from sqlite3.OperationalError(message)
        except OperationalError as exc:
            return exc

    assert unavailable(OperationalError("connection to server at 10.0.0.9 failed"))
    assert unavailable(from_sqlite("database is locked"))
    assert unavailable(from_sqlite("unable to open database file"))
    assert not unavailable(from_sqlite("LIKE or GLOB pattern too complex"))
    assert not unavailable(from_sqlite("no such table: articles_article"))
    assert not unavailable(ValueError("not a database error"))


# --- Refused at the door ------------------------------------------------------------------------


def test_a_body_larger_than_any_form_sends_is_a_413_before_it_is_read(settings):
    settings.NEWSAPP_MAX_REQUEST_BYTES = 1000
    client = Client(raise_request_exception=False)
    response = client.post("/admin/login/", data=b"x" * 1001, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "more than any form of ours sends" in response.content.decode()
    forged = client.generic("POST", "/admin/login/", b"", CONTENT_LENGTH="a lot")
    assert forged.status_code == 413
    assert client.post("/admin/login/", data={"username": "a"}).status_code == 200


@pytest.mark.parametrize(
    "host", ["localhost:99999", "localhost:0", "localhost:123456", "localhost:" + "9" * 5000]
)
def test_a_host_whose_port_is_no_port_is_refused_like_an_unknown_host(host, settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    response = Client(raise_request_exception=False).get("/", headers={"host": host})
    assert response.status_code == 400
    assert "This site does not answer to that host name." in response.content.decode()
    assert Client().get("/", headers={"host": "localhost:8000"}).status_code == 200


def test_a_method_a_page_does_not_take_gets_a_page_saying_so():
    response = Client().generic("TRACE", "/")
    assert response.status_code == 405
    assert response["Allow"] and "This address cannot do that" in response.content.decode()
    assert "Content-Security-Policy" in response


def test_a_form_from_elsewhere_gets_the_site_s_403_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form has expired or was sent from somewhere else" in html
    assert "DEBUG" not in html


def test_a_refused_host_is_logged_in_one_line(settings, caplog):
    import logging

    from newsapp.errors import WithoutTraceback

    settings.ALLOWED_HOSTS = ["news.example.org"]
    with caplog.at_level(logging.WARNING, logger="django.security"):
        Client(raise_request_exception=False).get("/", headers={"host": "evil.example.com"})
    records = [r for r in caplog.records if r.name.startswith("django.security")]
    assert records
    for record in records:
        WithoutTraceback().filter(record)
        assert record.exc_info is None
