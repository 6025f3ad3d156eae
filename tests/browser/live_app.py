"""A live newsapp for the browser tests: gunicorn on a fresh SQLite file holding the demo newsroom.

The server runs as production does (DEBUG off, whitenoise serving collected static files, the strict
Content-Security-Policy, the friendly 404 page), with four test-only differences, all set through
the environment: plain HTTP (no HTTPS redirect), the app serves the uploads itself
(NEWSAPP_SERVE_MEDIA), it answers on 127.0.0.1 only and its fetcher may reach 127.0.0.1 (where the
newsdesk's demo outlets are served). It is started once per test session; every test sees the same
data, so tests that add data (the editor journey) use names no other test uses.

The newsdesk (newsdesk_start) is added on demand, once, by the first test that asks for it: outlets
following live feeds served from the test process, fetched and grouped into story candidates.
"""

import ctypes
import ctypes.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

from gunicorn.config import Config

from newsdesk.demo import corpus
from newsdesk.demo.feed_server import serve

BASE_DIR = Path(__file__).resolve().parents[2]
# Generated stories on top of the 69 demo ones: 60 over 5 sections puts at least 12 in one section,
# so that section has more than one page of 20 (the pagination journey needs it).
EXTRA_STORIES = 60
STARTUP_TIMEOUT = 30

# The newsdesk's outlets serve a slice of the demo corpus (event: how many of its pieces, first
# published first). All 320 pieces take about 25 s to fetch and group here, this slice a few
# seconds, and it gives the desk what the journeys check: two events covered by all ten outlets,
# each with a wire copy (the newer one tops the desk), then events with fewer outlets below them.
NEWSDESK_EVENTS = {
    "northway-bellmark-merger": 10,
    "b-seruni-volcano-eruption": 10,
    "selene-3-lunar-landing": 6,
    "easton-falls-water-main": 4,
    "c-velmostat-blood-pressure-trial": 3,
    "redhaven-rovers-cup-final": 2,
}

# The open candidates in the desk's order, as the journeys expect to see them.
CANDIDATES_SCRIPT = """
import json
from newsdesk.models import Candidate
open_ = Candidate.objects.filter(status="open").order_by("-outlets_count", "-last_published_at", "pk")
print(json.dumps([
    {"id": c.pk, "title": c.title, "outlets": c.outlets_count, "pieces": c.pieces.count(),
     "copies": c.pieces.filter(copy_of__isnull=False).count()}
    for c in open_
]))
"""

FACTS_SCRIPT = """
import json
from articles.models import Article, Category, Source
live = Article.objects.published().select_related("category")
def url(qs):
    article = qs.select_related("category").order_by("-published_at", "pk").first()
    return article.get_absolute_url() if article else None
sections = sorted(
    (
        {"slug": c.slug, "name": c.name, "count": live.filter(category=c).count()}
        for c in Category.objects.all()
    ),
    key=lambda s: -s["count"],
)
cited = Source.objects.filter(citations__article__in=live).distinct().order_by("name")
print(json.dumps({
    "draft_url": url(Article.objects.filter(status="draft")),
    "scheduled_url": url(Article.objects.scheduled()),
    "flagged_url": url(live.filter(ai_summary=True, bias_rating__isnull=False).exclude(image="")),
    "unflagged_url": url(live.filter(ai_summary=False).exclude(image="")),
    "sections": sections,
    "sources": [{"slug": s.slug, "name": s.name} for s in cited],
}))
"""


@dataclass
class LiveApp:
    url: str
    root: Path
    password: str
    env: dict
    process: subprocess.Popen
    facts: dict = field(default_factory=dict)

    def manage(self, *args: str, **env: str) -> str:
        """Run a management command on the live app's database, with `env` added to its environment."""
        return _run([sys.executable, "manage.py", *args], {**self.env, **env}, self.root)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _die_with_parent() -> None:
    """In the server's process: get SIGTERM when the test run ends, even if it was killed."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str], env: dict, root: Path) -> str:
    result = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True)
    if result.returncode:
        (root / "setup-failure.log").write_text(result.stdout + result.stderr)
        raise RuntimeError(f"{' '.join(command[1:3])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def server_env(root: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NEWSAPP_"))}
    for name in ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "TIME_ZONE"):
        env.pop(name, None)
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DJANGO_LOG_LEVEL="WARNING",
        DATABASE_URL=f"sqlite:///{root / 'db.sqlite3'}",
        # Two workers share one cache, as app servers share Redis in production: a page cached by
        # one must be replaced everywhere when an editor publishes (a per-process cache could not).
        CACHE_URL=f"filecache://{root / 'cache'}",
        DJANGO_MEDIA_ROOT=str(root / "media"),
        DJANGO_STATIC_ROOT=str(root / "static"),
        NEWSAPP_SERVE_MEDIA="true",
        # The newsdesk's outlets are the demo feed server on 127.0.0.1 (newsdesk_start): the fetcher
        # must reach loopback, in fetch_feeds and in the web server (a draft's picture is fetched there).
        NEWSAPP_FETCH_ALLOW_PRIVATE="true",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}: {error.read()[:2000].decode(errors='replace')}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = str(error)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {STARTUP_TIMEOUT}s ({last}):\n{log.read_text()}")


def start(root: Path) -> LiveApp:
    """Collect static files, migrate, load the demo newsroom and its logins, then serve."""
    env = server_env(root)
    password = secrets.token_urlsafe(12)
    python = sys.executable
    collect = subprocess.Popen(
        [python, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _run([python, "manage.py", "migrate", "--noinput", "-v0"], env, root)
    _run([python, "manage.py", "seed_demo", "--articles", str(EXTRA_STORIES), "-v0"], env, root)
    # "--password=…" in one word: a random password may begin with "-", which argparse would take
    # for an option of its own.
    _run([python, "manage.py", "demo_accounts", f"--password={password}", "--force", "-v0"], env, root)
    output, _ = collect.communicate()
    if collect.returncode:
        raise RuntimeError(f"collectstatic failed:\n{output}")
    facts_output = _run([python, "manage.py", "shell", "--no-imports", "-v0", "-c", FACTS_SCRIPT], env, root)
    facts = json.loads(facts_output.strip().splitlines()[-1])

    port = _free_port()
    log = root / "gunicorn.log"
    with log.open("w") as log_file:
        command = [python, "-m", "gunicorn", "newsapp.wsgi", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", "2", "--threads", "4", "--access-logfile", "-"]
        if "control_socket_disable" in Config().settings:  # gunicorn >= 25: no shared ~/.gunicorn socket
            command.append("--no-control-socket")
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    url = f"http://127.0.0.1:{port}"
    app = LiveApp(url=url, root=root, password=password, env=env, process=process, facts=facts)
    try:
        _wait_until_up(url + "/", process, log)
    except BaseException:
        app.stop()
        raise
    return app


@dataclass
class Newsdesk:
    """The demo outlets' server and what it serves: `pieces` are the corpus's pieces with their
    addresses on that server ("url") and their event."""

    feeds_at: str
    server: ThreadingHTTPServer
    pieces: list[dict]
    candidates: list[dict]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def newsdesk_start(app: LiveApp) -> Newsdesk:
    """Serve NEWSDESK_EVENTS as the ten demo outlets' feeds, add the outlets to the live app and fetch
    every feed once, as an operator would (seed_newsdesk_demo, fetch_feeds --now)."""
    items, pieces = [], []
    for piece, item in zip(corpus.pieces(), corpus.items(), strict=True):
        if sum(p["event"] == piece["event"] for p in pieces) < NEWSDESK_EVENTS.get(piece["event"], 0):
            items.append(item)
            pieces.append({"event": piece["event"], "outlet": item.outlet, "title": item.title})
    server = serve(items)
    feeds_at = f"http://127.0.0.1:{server.server_port}"
    try:
        app.manage("seed_newsdesk_demo", "--feeds-at", feeds_at, "-v0")
        # Every outlet is on one host here: the fetcher's pause between two requests to a host is
        # for real outlets, not this one.
        app.manage("fetch_feeds", "--now", "--no-progress", NEWSAPP_FETCH_HOST_INTERVAL="0")
        candidates = json.loads(
            app.manage("shell", "--no-imports", "-v0", "-c", CANDIDATES_SCRIPT).splitlines()[-1]
        )
    except BaseException:
        server.shutdown()
        server.server_close()
        raise
    for piece, item in zip(pieces, items, strict=True):
        piece["url"] = feeds_at + item.path
    return Newsdesk(feeds_at=feeds_at, server=server, pieces=pieces, candidates=candidates)
