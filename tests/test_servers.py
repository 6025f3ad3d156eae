"""Every public page, twice in a row, on the real servers: the development server as `make run`
starts it, and granian and gunicorn with production's settings. A change made from another process
(a shell, an import) is on the next page load.

runserver's WSGI server is stricter than granian's or gunicorn's (header names must be plain str):
the first reload of a cached page once answered 500 there, and only there.
"""

import json
import re
from datetime import UTC, datetime

import pytest

from tests import observatory, servers

PUBLIC_PAGES = [
    "/",
    "/world/",
    "/world/?page=1",
    "/search/?q=harbour",
    "/feed/",
    "/feed/atom/",
    "/world/feed/",
    "/sitemap.xml",
    "/sitemap-news.xml",
    "/robots.txt",
    "/healthz/live",
    # Coverage you can audit (issue 13): its pages, feeds, API answers and downloads.
    "/methodology/",
    "/sources/",
    "/sources/?lean=left",
    "/blindspot/",
    "/blindspot/feed/",
    "/blindspot/feed/atom/",
    "/balance/",
    "/api/v1/stories/",
    "/api/v1/outlets/",
    "/api/v1/sections/",
    "/api/v1/blindspots/",
    "/api/v1/openapi.json",
    "/api/v1/docs/",
    "/api/v1/downloads/outlets.csv",
    "/api/v1/downloads/stories.json",
]


@pytest.fixture
def prepared(prepared_newsroom):
    return prepared_newsroom


FACTS = """
import json
from articles.models import Article, ArticleSource
story = Article.objects.published().order_by("-published_at").first()
outlet = ArticleSource.objects.filter(article=story).select_related("source").first().source
print(json.dumps([story.get_absolute_url(), outlet.get_absolute_url()]))
"""


def pages_of(server) -> list[str]:
    """The fixed pages plus the newest story, an outlet it cites and a month sitemap."""
    story, outlet = json.loads(servers.manage(server.env, "shell", "-v0", "-c", FACTS).splitlines()[-1])
    _, _, index = server.get("/sitemap.xml")
    month = re.search(r"(/sitemap-articles-\d{4}-\d{2}\.xml)", index.decode())
    return [*PUBLIC_PAGES, story, outlet, month[1]]


@pytest.mark.parametrize("kind", ["runserver", "granian", "gunicorn"])
def test_every_public_page_loads_twice_in_a_row(kind, prepared, tmp_path):
    servers.copy_newsroom(prepared, tmp_path)
    env = servers.base_env(tmp_path, debug=kind == "runserver")
    server = servers.start(kind, env, tmp_path)
    try:
        failures = []
        for path in pages_of(server):
            for attempt in (1, 2):
                status, _, _ = server.get(path)
                if status != 200:
                    failures.append(f"{path} #{attempt}: {status}")
        status, _, body = server.get("/no-such-section/no-such-story/")
        assert status == 404
        assert kind == "runserver" or b"find that page" in body  # debug shows Django's own 404
        assert not failures, f"{kind}: {failures}\n{server.log.read_text()[-3000:]}"
    finally:
        server.stop()


def test_a_change_from_another_terminal_is_on_the_next_page_load(prepared, tmp_path):
    """`make run` serves; a shell and an import run beside it, each with a cache of its own."""
    servers.copy_newsroom(prepared, tmp_path)
    env = servers.base_env(tmp_path, debug=True)
    server = servers.start("runserver", env, tmp_path)
    try:
        for _ in range(2):  # the second load is a cache hit
            status, headers, home = server.get("/")
        assert status == 200 and headers.get("X-Page-Cache") == "hit"

        servers.manage(
            env,
            "shell",
            "-c",
            "from articles.models import Article\n"
            "story = Article.objects.published().order_by('-published_at').first()\n"
            "story.title = 'Retitled from a second terminal'\n"
            "story.save()\n",
        )
        _, _, home = server.get("/")
        assert b"Retitled from a second terminal" in home

        document = {
            "articles": [
                {
                    "title": "Imported while the server ran",
                    "section": "world",
                    "status": "published",
                    "published_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "summary": "A story imported from another terminal.",
                    "featured": True,
                }
            ]
        }
        path = tmp_path / "import.json"
        path.write_text(json.dumps(document))
        servers.manage(env, "import_articles", str(path), "-v0")
        _, _, home = server.get("/")
        assert b"Imported while the server ran" in home
    finally:
        server.stop()


def test_the_observatory_scores_public_pages_and_the_sign_in_at_least_125(prepared, tmp_path):
    """Production's settings behind a TLS proxy (X-Forwarded-Proto), HTTPS redirect and HSTS on."""
    servers.copy_newsroom(prepared, tmp_path)
    env = servers.base_env(tmp_path, debug=False)
    env.update(DJANGO_SECURE_SSL_REDIRECT="true")
    env.pop("DJANGO_SECURE_HSTS_SECONDS")
    server = servers.start("granian", env, tmp_path)
    host = server.url.removeprefix("http://")
    try:
        story, outlet = json.loads(servers.manage(env, "shell", "-v0", "-c", FACTS).splitlines()[-1])
        scores = {}
        for path in ("/", "/world/", story, outlet, "/search/?q=harbour", "/admin/login/"):
            status, headers, body = server.fetch(path, headers={"X-Forwarded-Proto": "https"})
            assert status == 200, path
            http_status, http_headers, _ = server.fetch(path)
            result = observatory.score(
                headers={name.lower(): value for name, value in headers.items()},
                set_cookies=headers.get_all("Set-Cookie") or [],
                body=body.decode(),
                http_status=http_status,
                http_location=http_headers.get("Location", ""),
                host=host,
            )
            scores[path] = result
        report = "\n".join(f"{path} {result}" for path, result in scores.items())
        assert all(result.total >= 125 for result in scores.values()), report
        # Static files carry the same resource policy.
        status, headers, _ = server.fetch("/static/css/site.css", headers={"X-Forwarded-Proto": "https"})
        assert status == 200 and headers["Cross-Origin-Resource-Policy"] == "same-origin"
    finally:
        server.stop()
