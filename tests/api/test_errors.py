"""Every error under /api/ is a JSON object ({"detail": ...}) sent as application/json, whoever
refuses the request: a middleware before REST framework (a body too large), Django (a host we do not
serve, too many query fields), the site's handlers (an address that is no endpoint, a method, a crash,
the database out of reach) or REST framework itself (the rate limit, on the schema's view too); and
each keeps the headers the site's pages get."""

import pytest
from django.test import Client

from api import views
from tests.test_errors import broken_database

pytestmark = pytest.mark.django_db

# Set on every answer by the security middlewares, before REST framework and the error handlers.
SECURITY_HEADERS = ["X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"]


def json_error(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["detail"] and body["detail"]
    for header in SECURITY_HEADERS:
        assert header in response, header
    return body["detail"]


@pytest.fixture
def client_():
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("path", ["/api/v1/stories/", "/api/v1/openapi.json", "/api/v1/docs/", "/api/"])
def test_a_host_we_do_not_serve_is_a_json_400(client_, newsroom, settings, path):
    settings.ALLOWED_HOSTS = ["news.example.org"]
    response = client_.get(path, headers={"host": "evil.example.com"})
    assert json_error(response, 400) == "This site does not answer to that host name."
    assert "Content-Security-Policy" in response and "X-Frame-Options" in response


@pytest.mark.parametrize(
    "path", ["/api/v1/stories/", "/api/v1/stories/1/", "/api/v1/openapi.json", "/api/v1/nothing/", "/api/"]
)
def test_too_many_query_fields_are_a_json_400(client_, newsroom, settings, path):
    query = "&".join(f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client_.get(f"{path}?{query}")
    assert "more fields than any page of ours sends" in json_error(response, 400)
    if path.startswith("/api/v1/"):  # REST framework's views read the query before the method
        response = client_.generic("TRACE", f"{path}?{query}")
        assert "more fields than any page of ours sends" in json_error(response, 400)


def test_a_body_too_large_is_a_json_413_before_it_is_read(client_, settings):
    settings.NEWSAPP_MAX_REQUEST_BYTES = 1000
    response = client_.post("/api/v1/downloads/stories.json", b"x" * 1001, content_type="text/plain")
    assert json_error(response, 413).startswith("The request is larger than")
    forged = client_.generic("TRACE", "/api/v1/stories/", b"", CONTENT_LENGTH="-1")
    assert "The request is larger than" in json_error(forged, 413)
    # The site's pages keep their HTML page.
    page = client_.post("/admin/login/", b"x" * 1001, content_type="text/plain")
    assert page.status_code == 413 and page["Content-Type"].startswith("text/html")


def test_an_address_under_api_that_is_no_endpoint_is_a_json_404(client_, newsroom):
    for path in ("/api/", "/api/v2/stories/", "/api/v1/nothing/"):
        assert "/api/v1/openapi.json" in json_error(client_.get(path), 404), path
    assert client_.get("/no-such-section/")["Content-Type"].startswith("text/html")


def test_a_method_the_docs_do_not_take_is_a_json_405_with_allow(client_):
    response = client_.generic("PUT", "/api/v1/docs/")
    assert "Allow header" in json_error(response, 405)
    assert response["Allow"] == "GET, HEAD"
    refused = Client(enforce_csrf_checks=True).post("/api/v1/docs/")
    assert json_error(refused, 403) == "The API is read-only: it takes no forms."


def test_a_crash_in_an_api_view_is_a_json_500_nobody_keeps(client_, newsroom, monkeypatch):
    def broken():
        raise RuntimeError("boom: secret detail")

    monkeypatch.setattr(views, "stories", broken)
    response = client_.get("/api/v1/stories/")
    assert "has been logged" in json_error(response, 500)
    assert b"secret detail" not in response.content
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_the_database_out_of_reach_is_a_json_503_with_retry_after(client_, monkeypatch):
    broken_database(monkeypatch)
    response = client_.get("/api/v1/outlets/")
    assert "try again in 30 seconds" in json_error(response, 503)
    assert response["Retry-After"] == "30"


def test_rest_framework_s_errors_on_the_schema_are_plain_json(
    client_, newsroom, settings, local_memory_cache
):
    """The schema's view answers in OpenAPI's own type; its errors are no OpenAPI document."""
    settings.NEWSAPP_API_RATE = "1/min"
    assert client_.get("/api/v1/openapi.json")["Content-Type"] == "application/vnd.oai.openapi+json"
    assert json_error(client_.get("/api/v1/openapi.json"), 429).startswith("Request was throttled.")
