"""A request's Content-Type never makes a 500 (newsapp/content_type.py), through the test client and
through the WSGI application a server runs, where Django used to raise before any middleware."""

import io

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.test import Client

from newsapp.wsgi import application

pytestmark = pytest.mark.django_db

MANY_FIELDS = "&".join(f"f{n}=1" for n in range(1001))
# Names Python has a codec for that decode no text, or refuse every byte.
NOT_TEXT = ["rot13", "base64", "hex", "zlib", "undefined"]
UNREADABLE = ["text/plain; a*=nope''x", "text/plain; a=" + "b" * 10_001]


def wsgi(method: str, path: str, query="", content_type="", body=b"") -> tuple[int, bytes]:
    """(status, body) from newsapp.wsgi.application, as gunicorn would call it."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    started = []
    # As Django's test client does: the test's database connection (and its transaction) must
    # outlive the request, which otherwise closes it when it finishes (PostgreSQL).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, lambda status, headers, exc_info=None: started.append(status))
        content = b"".join(chunks)
        chunks.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return int(started[0].split()[0]), content


@pytest.mark.parametrize("charset", NOT_TEXT)
def test_a_charset_that_decodes_no_text_is_ignored(charset):
    content_type = f"text/plain; charset={charset}"
    assert wsgi("GET", "/", "page=1", content_type)[0] == 200
    client = Client(raise_request_exception=False)
    assert client.get("/search/?q=harbour", headers={"content-type": content_type}).status_code == 200


@pytest.mark.parametrize("charset", NOT_TEXT)
def test_a_form_posted_in_a_charset_that_decodes_no_text_is_read_as_utf_8(charset):
    content_type = f"application/x-www-form-urlencoded; charset={charset}"
    client = Client(raise_request_exception=False)
    response = client.generic("POST", "/admin/login/", b"username=a&password=b", content_type)
    assert response.status_code == 200  # the sign-in form again, saying the password is wrong
    assert response.context["form"].data["username"] == "a"


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "utf-16"])
def test_too_many_query_parameters_with_a_charset_get_the_400_page(charset):
    status, content = wsgi("GET", "/", MANY_FIELDS, f"text/plain; charset={charset}")
    assert status == 400
    assert b"more fields than any page of ours sends" in content


@pytest.mark.parametrize("content_type", UNREADABLE)
def test_an_unreadable_content_type_leaves_a_get_alone_and_refuses_a_posted_form(content_type):
    client = Client(raise_request_exception=False)
    assert client.get("/", headers={"content-type": content_type}).status_code == 200
    response = client.post("/admin/login/", b"username=a", content_type=content_type)
    assert response.status_code == 400
    assert b"Invalid Content-Type header." in response.content
    assert wsgi("POST", "/admin/login/", "", content_type, b"username=a")[0] == 403  # no CSRF cookie


def request(query: str, content_type: str) -> WSGIRequest:
    return WSGIRequest({"REQUEST_METHOD": "GET", "QUERY_STRING": query, "CONTENT_TYPE": content_type,
                        "wsgi.input": io.BytesIO()})  # fmt: skip


def test_a_charset_that_decodes_text_still_applies():
    assert request("q=%E9", "text/plain; charset=latin-1").GET["q"] == "é"
    assert request("q=%E9", "text/plain; charset=rot13").encoding is None


def test_setting_the_encoding_rebuilds_the_query_it_had_read():
    incoming = request("q=%E9", "")
    assert incoming.GET["q"] == "\ufffd"  # read as UTF-8
    incoming.encoding = "latin-1"
    assert incoming.GET["q"] == "é"
