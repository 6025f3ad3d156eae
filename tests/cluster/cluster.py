"""The cluster of `make cluster` as its tests see it: its addresses and settings (var/cluster/urls.json
and env, written by scripts/cluster/start.sh), plain HTTP with cookies kept by hand, manage.py in the
cluster's environment, and an editor signed in to one app server's admin."""

import http.client
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "var" / "cluster"
URLS, ENV, PIDS, LOGINS = CLUSTER / "urls.json", CLUSTER / "env", CLUSTER / "pids", CLUSTER / "logins"


class ClusterDown(Exception):
    """The cluster is not up: the tests fail (make test-cluster starts it)."""


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes
    # When the answer was read in full (time.monotonic()).
    at: float = 0.0

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def fetch(url: str, *, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
          timeout: float = 10.0) -> Answer:  # fmt: skip
    """One request on a connection of its own, no redirect followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path or "/"
        connection.request(method, f"{path}?{parts.query}" if parts.query else path, body, headers or {})
        response = connection.getresponse()
        content = response.read()
        return Answer(response.status, response.headers, content, time.monotonic())
    finally:
        connection.close()


@dataclass
class Browser:
    """Cookies kept as a browser on this machine keeps them. The cluster runs production settings, so
    its cookies say Secure; browsers treat loopback as a secure origin, and so does this."""

    origin: str
    cookies: dict[str, str] = field(default_factory=dict)

    def _headers(self, extra: dict | None = None) -> dict:
        headers = {"Host": urlsplit(self.origin).netloc, **(extra or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return headers

    def _keep(self, answer: Answer) -> Answer:
        for line in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(line).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, **headers) -> Answer:
        return self._keep(fetch(self.origin + path, headers=self._headers(headers)))

    def post(self, path: str, fields: list[tuple[str, str]]) -> Answer:
        """A form's POST as the browser sends it from a page of the same site (Origin, Referer)."""
        headers = self._headers({
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.origin,
            "Referer": self.origin + path,
        })  # fmt: skip
        return self._keep(
            fetch(self.origin + path, method="POST", headers=headers, body=urlencode(fields).encode())
        )

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status != 200 or not found:
            raise AssertionError(f"GET {path}: {page.status}, no CSRF token in the form")
        return found[1]


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = " ".join(shlex.split(value))
    return values


class Cluster:
    def __init__(self):
        missing = [str(path) for path in (URLS, ENV, LOGINS) if not path.exists()]
        if missing:
            raise ClusterDown(f"the cluster is not up: no {', '.join(missing)} (run make cluster, as root)")
        self.urls = json.loads(URLS.read_text())
        self.env = read_env(ENV)
        self.proxy: str = self.urls["proxy"]
        self.apps: list[str] = self.urls["apps"]
        logins = read_env(LOGINS)
        self.editor = (logins["editor"], logins["password"])
        for url in (self.proxy, *self.apps):
            try:
                answer = fetch(url + "/healthz/live", timeout=5)
            except OSError as exc:
                raise ClusterDown(f"the cluster is not up: {url} does not answer ({exc})") from exc
            if answer.status != 200:
                raise ClusterDown(f"the cluster is not up: {url}/healthz/live answers {answer.status}")

    def process_env(self) -> dict[str, str]:
        """What `set -a; . var/cluster/env; python manage.py ...` runs with."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "NEWSAPP_", "DATABASE_", "PYTEST_"))
            and key not in ("CACHE_URL", "CACHE_KEY_PREFIX", "REDIS_URL")
        }
        return inherited | self.env

    def manage(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.process_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def ops(self, function: str, **kwargs):
        """tests/cluster/ops.py's `function`, run by `manage.py shell -c`; what it printed, as JSON."""
        call = f"from tests.cluster import ops; ops.{function}(**{kwargs!r})"
        output = self.manage("shell", "-v", "0", "-c", call)
        return json.loads(output.strip().splitlines()[-1])

    def signed_in_editor(self, app: str) -> Browser:
        """The demo Editor signed in to `app`'s admin with the password, as a browser does."""
        browser = Browser(app)
        token = browser.csrf_token("/admin/login/")
        username, password = self.editor
        answer = browser.post(
            "/admin/login/?next=/admin/",
            [
                ("csrfmiddlewaretoken", token),
                ("username", username),
                ("password", password),
                ("next", "/admin/"),
            ],
        )
        if answer.status != 302 or "sessionid" not in browser.cookies:
            raise AssertionError(f"signing in as {username} at {app}: {answer.status}\n{answer.text[:2000]}")
        return browser


def pids() -> dict[str, int]:
    """The cluster's processes by name, from var/cluster/pids/ (the replica's is its postmaster.pid)."""
    found = {}
    for path in sorted(PIDS.glob("*.pid")):
        try:
            found[path.stem] = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def family(pid: int) -> set[int]:
    """`pid` and every process under it (children, grandchildren...), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = {pid}, [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, ppid in parents.items() if ppid == parent} - found
        found |= children
        todo.extend(children)
    return found
