"""Real servers for tests that must see what a reader's browser sees: the development server
(`manage.py runserver`, as `make run` starts it), granian and gunicorn, each a process of its own
on a copy of one prepared SQLite newsroom."""

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from gunicorn.config import Config

from tests.browser.live_app import _die_with_parent, _free_port

BASE_DIR = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 30


def base_env(root: Path, *, debug: bool) -> dict:
    """What `make run` gives the development server (debug on, nothing shared), or production's
    settings over plain HTTP (debug off, no HTTPS redirect)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NEWSAPP_"))}
    for name in ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "TIME_ZONE"):
        env.pop(name, None)
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
        DJANGO_DEBUG="true" if debug else "false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_LOG_LEVEL="WARNING",
        DATABASE_URL=f"sqlite:///{root / 'db.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(root / "media"),
        DJANGO_STATIC_ROOT=str(root / "static"),
        PYTHONUNBUFFERED="1",
    )
    if not debug:
        env.update(
            DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SECURE_HSTS_SECONDS="0", NEWSAPP_SERVE_MEDIA="true"
        )
    return env


def manage(env: dict, *args: str, input_text: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=300,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_newsroom(root: Path) -> Path:
    """A migrated SQLite file with the demo newsroom and collected static files, made once."""
    env = base_env(root, debug=False)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    return root


def copy_newsroom(prepared: Path, root: Path) -> None:
    shutil.copy(prepared / "db.sqlite3", root / "db.sqlite3")
    shutil.copytree(prepared / "media", root / "media")
    shutil.copytree(prepared / "static", root / "static")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Server:
    kind: str
    url: str
    env: dict
    process: subprocess.Popen
    log: Path

    def get(self, path: str, *, headers: dict | None = None, timeout: float = 20):
        """(status, headers as an email.message.Message: names in any case, body), redirects followed."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def fetch(self, path: str, *, headers: dict | None = None):
        """(status, headers as an email.message.Message, body), without following redirects."""
        opener = urllib.request.build_opener(_NoRedirects)
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with opener.open(request, timeout=20) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def command(kind: str, port: int, root: Path, workers: int = 2) -> list[str]:
    python = sys.executable
    if kind == "runserver":
        return [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    if kind == "granian":
        return [
            python, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--blocking-threads", "2", "--no-ws", "newsapp.wsgi:application",
        ]  # fmt: skip
    if kind == "gunicorn":
        args = [
            python,
            "-m",
            "gunicorn",
            "newsapp.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ]
        if "control_socket_disable" in Config().settings:  # gunicorn 27: no shared control socket
            args.append("--no-control-socket")
        return args
    raise ValueError(kind)


def start(kind: str, env: dict, root: Path, *, workers: int = 2) -> Server:
    port = _free_port()
    log = root / f"{kind}.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command(kind, port, root, workers),
            cwd=BASE_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    server = Server(kind, f"http://127.0.0.1:{port}", env, process, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited with {process.returncode}:\n{log.read_text()}")
        try:
            status, _, _ = server.get("/healthz/live", timeout=2)
            if status == 200:
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{kind} did not answer within {STARTUP_TIMEOUT}s:\n{log.read_text()}")
