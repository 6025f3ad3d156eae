"""newsapp's benchmark: `make bench` (or `.venv/bin/python bench/run.py --help`).

On PostgreSQL with Redis (started by scripts/services.sh; both are shared services and left running),
it seeds a database of its own (`newsapp_bench`: the demo newsroom plus `seed_demo --articles N`),
runs the app the way production does (production settings, collected static files served by
whitenoise) and measures it with Debian's `wrk` over loopback:

1. every app server setup named by --servers (gunicorn sync, gunicorn gthread, granian, ...) on the
   cached pages (home, a section, an article) and on the 4-byte health check, with the page cache on:
   all of them run at once and are measured in turns, page by page, so that a change in the machine's
   load is shared out between them; in the home page's turn also nginx (Debian's package, a config of
   this script's own) serving a saved copy of the home page: the physical limit of this machine;
2. the fastest of them (the geometric mean of its cached pages' requests per second) on every page
   (home, section, article, search, feed, health), cache on and cache off.

Each measured run also gives the app server's CPU time per answer (from /proc), which other work on a
shared machine changes much less than requests per second. Queries per page are counted in-process
(Django's test client). It prints the results and writes them, with the machine's description and
the targets of issue 5, between the markers in docs/performance.md. Every process it starts (app
servers, nginx, wrk) is stopped at the end, also on an error, Ctrl-C or SIGTERM; a hard time limit
(--time-limit, counted once missing packages are installed) stops a run that hangs.

Exit status: 0 when every request of every measured run got a 2xx answer; 1 when any did not
(or a socket error occurred), unless --allow-errors; 3 with --require-targets when a target is missed;
2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import http.client
import importlib.metadata
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
DOC = ROOT / "docs" / "performance.md"
LUA = Path(__file__).resolve().parent / "report.lua"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
DB_NAME = "newsapp_bench"
REDIS_DB = 3
HOST = "127.0.0.1"
MARK_START = "<!-- bench:start -->"
MARK_END = "<!-- bench:end -->"
# Everything the seeded data depends on: when one of these changes, the database is seeded anew.
SEED_INPUTS = (ROOT / "articles/management/commands/seed_demo.py", ROOT / "articles/demo/newsroom.json")

# Pages measured: name -> path ("article" is filled in with a real published story).
PAGES = {
    "home": "/",
    "section": "/world/",
    "article": None,
    "search": "/search/?q=harbour",
    "feed": "/feed/",
    "health": "/healthz/live",
}
CACHED_PAGES = ("home", "section", "article")
NEVER_CACHED = ("health",)  # search results are kept too, briefly (articles/search_page.py)
# Issue 5's targets.
CACHED_SHARE_OF_HEALTH = 0.70
CACHED_P99_MS = 50.0
UNCACHED_MIN_RPS = {"home": 150, "section": 150, "article": 200}

# When anything but the server and wrk uses more than this share of the CPU on average during the
# runs on cached pages, other work shared the machine (Redis alone stays well below it).
BUSY_SHARE = 0.10
DEFAULT_SERVERS = "gunicorn-sync:4,gunicorn-gthread:2x4,granian:2x4"


class BenchError(Exception):
    """The benchmark cannot go on (the message says why)."""


class TimeLimit(BaseException):  # a BaseException: no `except Exception` on the way swallows it
    """The run took longer than --time-limit."""


# --------------------------------------------------------------------------------------------------
# Output


class Clock:
    def __init__(self):
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def log(self, message: str) -> None:
        print(f"[{self.elapsed:6.1f}s] {message}", flush=True)


CLOCK = Clock()
log = CLOCK.log


def warn(message: str) -> None:
    print(f"[{CLOCK.elapsed:6.1f}s] !!! {message}", flush=True)


# --------------------------------------------------------------------------------------------------
# Processes


def _proc_stats():
    """(pid, fields after the command name) of every process, from /proc/PID/stat."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        yield int(stat.parent.name), text[text.rindex(")") + 2 :].split()


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    return [pid for pid, fields in _proc_stats() if int(fields[2]) == pgid and fields[0] != "Z"]


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores together, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    total = sum(ticks[:8])  # guest time is already counted in user
    hz = os.sysconf("SC_CLK_TCK")
    return (total - idle) / hz, total / hz


def children_cpu_seconds() -> float:
    """CPU time of this script's finished (waited-for) children, such as a wrk run."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the processes of a process group."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in _proc_stats() if int(fields[2]) == pgid)
    return ticks / os.sysconf("SC_CLK_TCK")


class Processes:
    """Every process this script starts, each in a process group of its own, so all of it can be stopped."""

    def __init__(self):
        self.running: dict[int, tuple[str, subprocess.Popen]] = {}
        self.groups: set[int] = set()

    def start(self, name: str, argv: list[str], *, env: dict, log_path: Path) -> subprocess.Popen:
        with open(log_path, "ab") as output:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[proc.pid] = (name, proc)
        self.groups.add(proc.pid)
        return proc

    def stop(self, proc: subprocess.Popen, *, grace: float = 10.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after `grace` seconds."""
        name, _ = self.running.pop(proc.pid, ("?", proc))
        pgid = proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            if proc.returncode is not None and not _group_members(pgid):
                return
            time.sleep(0.05)
        warn(f"{name} (process group {pgid}) did not stop within {grace:.0f} s of SIGTERM: SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for _, proc in list(self.running.values()):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                warn(f"could not stop process {proc.pid}: {exc}")

    def leftovers(self) -> list[int]:
        """Processes still alive from any group this script started (should be none)."""
        return [pid for pgid in sorted(self.groups) for pid in _group_members(pgid)]


PROCESSES = Processes()


def run(argv: list[str], *, env: dict | None = None, cwd: Path | str = ROOT, log_path: Path | None = None):
    """Run a command to completion (output to log_path when given); raise BenchError when it fails."""
    if log_path:
        with open(log_path, "ab") as output:
            output.write(f"\n$ {' '.join(argv)}\n".encode())
            output.flush()
            result = subprocess.run(
                argv, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, check=False
            )
        if result.returncode:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
            raise BenchError(f"`{' '.join(argv)}` failed ({result.returncode}); end of {log_path}:\n{tail}")
        return result
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode:
        raise BenchError(f"`{' '.join(argv)}` failed ({result.returncode}):\n{result.stderr.strip()}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """One GET to 127.0.0.1:port, redirects not followed."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_until_serving(proc: subprocess.Popen, name: str, port: int, log_path: Path, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise BenchError(f"{name} exited ({proc.returncode}) before serving; end of {log_path}:\n{tail}")
        try:
            status, _, body = http_get(port, "/healthz/ready", timeout=2)
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            return
        if status == 404:
            raise BenchError(
                "/healthz/ready answers 404: the health check is not routed. Add to articles/urls.py, "
                'before the <slug:section>/ patterns: path("healthz/live", health.live, name="health_live") '
                'and path("healthz/ready", health.ready, name="health_ready")'
            )
        raise BenchError(f"{name}: /healthz/ready answered {status}: {body[:300].decode(errors='replace')}")
    raise BenchError(f"{name} did not answer on port {port} within {timeout:.0f} s (log: {log_path})")


# --------------------------------------------------------------------------------------------------
# App servers


@dataclasses.dataclass(frozen=True)
class Server:
    """An app server setup: `gunicorn-sync:4`, `gunicorn-gthread:2x4` or `granian:2x4` (workers x threads)."""

    kind: str
    workers: int
    threads: int

    KINDS = ("gunicorn-sync", "gunicorn-gthread", "granian")

    @classmethod
    def parse(cls, spec: str) -> Server:
        match = re.fullmatch(r"([a-z-]+)(?::(\d+)(?:x(\d+))?)?", spec.strip())
        if not match or match[1] not in cls.KINDS:
            raise argparse.ArgumentTypeError(
                f"unknown server {spec!r}: use {', '.join(cls.KINDS)}, "
                "optionally followed by :WORKERS or :WORKERSxTHREADS"
            )
        kind = match[1]
        workers = int(match[2] or (4 if kind == "gunicorn-sync" else 2))
        threads = 1 if kind == "gunicorn-sync" else int(match[3] or 4)
        if kind == "gunicorn-sync" and match[3] and int(match[3]) != 1:
            raise argparse.ArgumentTypeError(
                "gunicorn-sync workers have one thread each: gunicorn-sync:WORKERS"
            )
        if workers < 1 or threads < 1:
            raise argparse.ArgumentTypeError(f"{spec!r}: workers and threads must be at least 1")
        return cls(kind, workers, threads)

    @property
    def name(self) -> str:
        return (
            f"{self.kind}:{self.workers}"
            if self.kind == "gunicorn-sync"
            else f"{self.kind}:{self.workers}x{self.threads}"
        )

    @property
    def slug(self) -> str:
        return self.name.replace(":", "-")

    def describe(self) -> str:
        if self.kind == "gunicorn-sync":
            return f"gunicorn {version('gunicorn')}, {self.workers} sync workers"
        if self.kind == "gunicorn-gthread":
            return f"gunicorn {version('gunicorn')}, {self.workers} gthread workers x {self.threads} threads"
        return (
            f"granian {version('granian')} (WSGI), {self.workers} workers x {self.threads} blocking threads"
        )

    def command(self, port: int) -> list[str]:
        if self.kind.startswith("gunicorn"):
            argv = [
                str(BIN / "gunicorn"), "newsapp.wsgi:application",
                "--bind", f"{HOST}:{port}",
                "--workers", str(self.workers),
                "--worker-class", self.kind.removeprefix("gunicorn-"),
                # gunicorn opens a control socket at one default path: each instance gets its own.
                "--control-socket", str(VAR / "run" / f"{self.slug}.ctl"),
                "--log-level", "warning",
            ]  # fmt: skip
            if self.kind == "gunicorn-gthread":
                argv += ["--threads", str(self.threads)]
            return argv
        return [
            str(BIN / "granian"), "newsapp.wsgi:application",
            "--interface", "wsgi",
            "--host", HOST, "--port", str(port),
            "--workers", str(self.workers),
            "--blocking-threads", str(self.threads),
            "--no-ws",
            "--log-level", "warning",
            "--pid-file", str(VAR / "run" / f"{self.slug}.pid"),
        ]  # fmt: skip

    def installed(self) -> bool:
        return (BIN / self.kind.split("-")[0]).exists()


class RunningServer:
    def __init__(self, server: Server, env: dict, cache_seconds: int):
        self.server = server
        self.port = free_port()
        mode = "cache-on" if cache_seconds else "cache-off"
        self.log_path = VAR / "logs" / f"{server.slug}-{mode}.log"
        self.env = env | {"NEWSAPP_PAGE_CACHE_SECONDS": str(cache_seconds)}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> RunningServer:
        """Start the server (wait() waits until it serves: several can boot at once)."""
        self.log_path.write_bytes(b"")
        self.proc = PROCESSES.start(
            self.server.name, self.server.command(self.port), env=self.env, log_path=self.log_path
        )
        return self

    def wait(self) -> RunningServer:
        wait_until_serving(self.proc, self.server.name, self.port, self.log_path)
        return self

    def __exit__(self, *exc_info):
        if self.proc:
            PROCESSES.stop(self.proc)

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


# --------------------------------------------------------------------------------------------------
# wrk


@dataclasses.dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: dict
    # CPU time the server's processes spent per answer: changed much less than req/s by other work
    # sharing the machine. Excludes PostgreSQL and Redis (shared services) and wrk.
    cpu_ms: float | None = None
    # Share of the machine's CPU used by anything but the server and wrk meanwhile: other work, and
    # PostgreSQL and Redis (which the uncached pages use).
    others: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def error_text(self) -> str:
        parts = [f"{self.non_2xx} non-2xx"] if self.non_2xx else []
        parts += [f"{count} socket {kind}" for kind, count in self.socket_errors.items() if count]
        return ", ".join(parts) or "0"


def wrk(
    url: str, seconds: int, args: argparse.Namespace, log_path: Path, headers: dict | None = None
) -> Result:
    argv = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s",
        "--latency", "--timeout", "5s", "-s", str(LUA),
        *(f"-H{name}: {value}" for name, value in (headers or {}).items()), url,
    ]  # fmt: skip
    log_path.write_bytes(b"")
    proc = PROCESSES.start("wrk", argv, env=os.environ.copy(), log_path=log_path)
    try:
        proc.wait(timeout=seconds + 30)
    finally:
        PROCESSES.stop(proc)
    text = log_path.read_text(errors="replace")
    line = next((line for line in text.splitlines() if line.startswith("BENCH ")), None)
    if proc.returncode or line is None:
        raise BenchError(f"wrk failed ({proc.returncode}) on {url}:\n{text}")
    data = json.loads(line.removeprefix("BENCH "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        # wrk counts answers with a status of 400 or more; 3xx cannot occur: every URL was checked to
        # answer 200 itself before the run (check_pages).
        non_2xx=data["status"],
        socket_errors={kind: data[kind] for kind in ("connect", "read", "write", "timeout")},
    )


def check_pages(port: int, pages: dict[str, str]) -> None:
    """Each page answers 200 itself (not a redirect, not an error) before it is measured."""
    for name, path in pages.items():
        status, headers, body = http_get(port, path)
        if status != 200:
            location = f" -> {headers.get('Location')}" if headers.get("Location") else ""
            raise BenchError(
                f"{name} ({path}) answered {status}{location}: {body[:300].decode(errors='replace')}"
            )


def measure(url: str, who: str, mode: str, page: str, args, *, pgid: int) -> Result:
    """Warm up, then one measured wrk run; log the result (loudly when any request failed).

    pgid: the server's process group, whose CPU time per answer is measured too.
    """
    tag = re.sub(r"[^a-z0-9]+", "-", f"{who}-{mode}-{page}".lower()).strip("-")
    if args.warmup:
        warm = wrk(url, args.warmup, args, VAR / "logs" / f"wrk-{tag}-warmup.log")
        if warm.errors:
            warn(f"warm-up of {page} on {who} ({mode}): {warm.error_text()}")
    server_before, wrk_before = group_cpu_seconds(pgid), children_cpu_seconds()
    busy_before, total_before = machine_cpu()
    result = wrk(url, args.duration, args, VAR / "logs" / f"wrk-{tag}.log")
    busy_after, total_after = machine_cpu()
    server = group_cpu_seconds(pgid) - server_before
    wrk_cpu = children_cpu_seconds() - wrk_before
    if total_after > total_before:
        others = busy_after - busy_before - server - wrk_cpu
        result.others = max(0.0, others) / (total_after - total_before)
    if result.requests:
        result.cpu_ms = server * 1000 / result.requests
    line = (
        f"  {who:<22} {mode:<9} {page:<8} {result.rps:9.1f} req/s  "
        f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
        f"CPU {result.cpu_ms or 0:6.2f} ms/req  others {result.others or 0:4.0%}  "
        f"errors {result.error_text()}"
    )
    (warn if result.errors else log)(line)
    return result


def measure_pages(running: RunningServer, pages: dict[str, str], mode: str, args) -> dict[str, Result]:
    check_pages(running.port, pages)
    return {
        name: measure(running.url(path), running.server.name, mode, name, args, pgid=running.proc.pid)
        for name, path in pages.items()
    }


# --------------------------------------------------------------------------------------------------
# Set-up: tools, services, database, static files


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def ensure_tools() -> None:
    """wrk and nginx from Debian's packages, installed when missing (as scripts/services.sh does)."""
    missing = [pkg for pkg, binary in (("wrk", "wrk"), ("nginx", "nginx")) if not shutil.which(binary)]
    if not missing:
        return
    log(f"installing {', '.join(missing)} with apt-get")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env, log_path=VAR / "logs" / "apt.log")
    run(["apt-get", "install", "-y", "-q", *missing], env=env, log_path=VAR / "logs" / "apt.log")
    # Debian's nginx package may start the system-wide nginx; this benchmark runs its own only.


def start_services() -> dict[str, str]:
    log("starting PostgreSQL and Redis (scripts/services.sh; shared services, left running afterwards)")
    result = run([str(ROOT / "scripts" / "services.sh"), "postgres", "redis"])
    settings = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    database = re.sub(r"/[^/]*$", f"/{DB_NAME}", settings["DATABASE_URL"])
    cache = re.sub(r"/\d*$", f"/{REDIS_DB}", settings["CACHE_URL"])
    return {"DATABASE_URL": database, "CACHE_URL": cache}


def flush_redis(cache_url: str) -> None:
    import redis

    redis.Redis.from_url(cache_url).flushdb()


def redis_version(cache_url: str) -> str:
    import redis

    return redis.Redis.from_url(cache_url).info("server")["redis_version"]


def psql(sql: str, database: str = "postgres") -> str:
    argv = ["runuser", "-u", "postgres", "--", "psql", "-X", "-tA", "-v", "ON_ERROR_STOP=1"]
    result = run([*argv, "-d", database, "-c", sql], cwd="/")
    return result.stdout.strip()


def app_env(services: dict[str, str]) -> dict[str, str]:
    """Production settings, on loopback HTTP, with this benchmark's database, cache, static and media."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "NEWSAPP_", "GUNICORN_", "GRANIAN_"))
        and key not in ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "WEB_CONCURRENCY")
    }
    return (
        inherited
        | services
        | {
            "DJANGO_SETTINGS_MODULE": "newsapp.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS is the proxy's job
            "DJANGO_STATIC_ROOT": str(VAR / "static"),
            "DJANGO_MEDIA_ROOT": str(VAR / "media"),
            "NEWSAPP_SERVE_MEDIA": "true",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DJANGO_CONN_MAX_AGE": "600",
            "NEWSAPP_PAGE_CACHE_SECONDS": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )


def manage(env: dict, *args: str) -> None:
    run([PYTHON, "manage.py", *args], env=env, log_path=VAR / "logs" / "manage.log")


def probe(env: dict, *args: str) -> dict:
    result = run([PYTHON, str(Path(__file__).resolve().parent / "probe.py"), *args], env=env)
    return json.loads(result.stdout)


def seed_fingerprint(articles: int) -> str:
    digest = hashlib.sha256(str(articles).encode())
    for path in SEED_INPUTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def prepare_database(env: dict, args) -> tuple[dict, str]:
    """The benchmark database, seeded with the demo plus N stories: reused when already so seeded."""
    marker = VAR / "seeded.json"
    fingerprint = seed_fingerprint(args.articles)
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'") == "1"
    if exists and not args.fresh and marker.exists() and any((VAR / "media").rglob("*.*")):
        recorded = json.loads(marker.read_text())
        manage(env, "migrate", "--noinput")
        state = probe(env, "state")
        if recorded.get("fingerprint") == fingerprint and recorded.get("articles") == state["articles"]:
            log(f"reusing database {DB_NAME}: {state['articles']} stories (--articles {args.articles})")
            return state, "reused"
    log(f"creating database {DB_NAME} and seeding it (demo newsroom + {args.articles} generated stories)")
    marker.unlink(missing_ok=True)
    psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB_NAME}")
    shutil.rmtree(VAR / "media", ignore_errors=True)
    started = time.monotonic()
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    if args.articles:
        manage(env, "seed_demo", "--articles", str(args.articles))
    psql("VACUUM ANALYZE", DB_NAME)
    state = probe(env, "state")
    marker.write_text(json.dumps({"fingerprint": fingerprint, "articles": state["articles"]}))
    log(f"seeded {state['articles']} stories in {time.monotonic() - started:.1f} s")
    return state, f"seeded in {time.monotonic() - started:.0f} s"


def count_queries(env: dict, pages: dict[str, str]) -> dict[str, dict]:
    """SQL queries per page, and in-process milliseconds: a full render (cache off), a cache hit (on)."""
    off = probe(env, "queries", *pages.values())
    on = probe(env | {"NEWSAPP_PAGE_CACHE_SECONDS": "600"}, "queries", *pages.values())
    counts = {}
    for name, path in pages.items():
        for mode, answer in (("off", off[path]["second"]), ("hit", on[path]["second"])):
            if answer["status"] != 200:
                raise BenchError(f"{name} ({path}) answered {answer['status']} in-process (cache {mode})")
        hit = on[path]["second"]
        counts[name] = {
            "render": off[path]["second"]["queries"],
            "hit": hit["queries"] if hit["page_cache"] == "hit" else None,
            "render_ms": off[path]["ms"],
            "hit_ms": on[path]["ms"],
        }
    return counts


# --------------------------------------------------------------------------------------------------
# nginx: the physical limit


NGINX_CONF = """\
# Written by bench/run.py: serves a saved copy of the home page on loopback, nothing else.
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    default_type text/html;
    charset utf-8;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    server {{
        listen {host}:{port};
        root {dir}/html;
        location = / {{ try_files /home.html =404; }}
    }}
}}
"""


class Nginx:
    """nginx on loopback serving `html` at /, with a config, pid file, logs and temp paths of its own."""

    NAME = "nginx (saved home page)"

    def __init__(self, html: bytes, args):
        self.folder = VAR / "nginx"
        shutil.rmtree(self.folder, ignore_errors=True)
        (self.folder / "html").mkdir(parents=True)
        (self.folder / "tmp").mkdir()
        (self.folder / "html" / "home.html").write_bytes(html)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        self.conf = self.folder / "nginx.conf"
        self.conf.write_text(
            NGINX_CONF.format(workers=args.nginx_workers, dir=self.folder, host=HOST, port=self.port)
        )
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        argv = ["nginx", "-e", str(self.folder / "error.log"), "-p", str(self.folder), "-c", str(self.conf)]
        self.proc = PROCESSES.start("nginx", argv, env=os.environ.copy(), log_path=VAR / "logs" / "nginx.log")
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                errors = (self.folder / "error.log").read_text(errors="replace")[-2000:]
                raise BenchError(f"nginx exited ({self.proc.returncode}): {errors}")
            with contextlib.suppress(OSError):
                if http_get(self.port, "/")[0] == 200:
                    return self
            if time.monotonic() > deadline:
                raise BenchError("nginx did not answer within 15 s")
            time.sleep(0.1)

    def __exit__(self, *exc_info):
        if self.proc:
            PROCESSES.stop(self.proc)


# --------------------------------------------------------------------------------------------------
# Machine


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?"
    )
    meminfo = Path("/proc/meminfo").read_text()
    kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo)[1])
    os_name = "?"
    with contextlib.suppress(OSError):
        os_name = re.search(r'PRETTY_NAME="?([^"\n]+)', Path("/etc/os-release").read_text())[1]

    def output(argv: list[str]) -> str:  # bench/search_load.py runs without nginx
        if not shutil.which(argv[0]):
            return ""
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (done.stdout + done.stderr).strip()

    nginx = output(["nginx", "-v"])
    wrk_version = output(["wrk", "-v"]).split()
    return {
        "CPU": f"{model}, {os.cpu_count()} logical cores ({len(os.sched_getaffinity(0))} usable)",
        "RAM": f"{kib / 1024 / 1024:.1f} GiB",
        "OS": f"{os_name}, Linux {platform.release()} ({platform.machine()})",
        "Python": platform.python_version(),
        "Django": version("django"),
        "nginx": nginx.split("/", 1)[-1] if nginx else "?",
        "wrk": wrk_version[1] if len(wrk_version) > 1 else "?",
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --------------------------------------------------------------------------------------------------
# Report


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(max(v, 1e-9)) for v in values) / len(values)) if values else 0.0


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rps(result: Result | None) -> str:
    return f"{result.rps:,.0f}" if result else "–"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def targets(report: dict) -> list[tuple[str, str, bool]]:
    """Issue 5's targets: (what, measured, met)."""
    on, off, health = report["cache_on"], report["cache_off"], report["cache_on"]["health"]
    checks = []
    for name in CACHED_PAGES:
        share = on[name].rps / health.rps if health.rps else 0.0
        checks.append((
            f"cached {name}: ≥ {CACHED_SHARE_OF_HEALTH:.0%} of the health check's req/s, "
            f"p99 < {CACHED_P99_MS:.0f} ms",
            f"{on[name].rps:,.0f} req/s = {share:.0%} of {health.rps:,.0f}; p99 {ms(on[name].p99_ms)}",
            share >= CACHED_SHARE_OF_HEALTH and on[name].p99_ms < CACHED_P99_MS,
        ))  # fmt: skip
    for name, minimum in UNCACHED_MIN_RPS.items():
        checks.append(
            (f"uncached {name}: ≥ {minimum} req/s", f"{off[name].rps:,.0f} req/s", off[name].rps >= minimum)
        )
    runs = report["all_runs"]
    bad = [f"{label}: {result.error_text()}" for label, result in runs if result.errors]
    checks.append((
        "zero non-2xx answers (and no socket errors) in every run",
        f"{len(runs)} runs, {sum(r.requests for _, r in runs):,} requests: "
        + ("; ".join(bad) or "all clean"),
        not bad,
    ))  # fmt: skip
    return checks


def mean_others(results: list[Result]) -> float:
    """Average share of the CPU used by anything but the server under test and wrk."""
    shares = [result.others for result in results if result.others is not None]
    return sum(shares) / len(shares) if shares else 0.0


def render(report: dict, args) -> str:
    winner: Server = report["winner"]
    on, off, queries = report["cache_on"], report["cache_off"], report["queries"]
    out = []
    out.append(
        f"Run on {report['date']} with `{report['command']}`: {args.articles:,} generated stories "
        f"({report['articles']:,} in all, database {report['seeding']}), "
        f"wrk `-t{args.threads} -c{args.connections}`, {args.duration} s per measurement "
        f"after {args.warmup} s of warm-up; {report['elapsed']:.0f} s in all"
        + (
            f" ({report['setup_seconds']:.0f} s of it installing and starting services)."
            if report["setup_seconds"] >= 10
            else "."
        )
    )
    out.append("")
    out.append("### Machine")
    out.append("")
    described = report["machine"] | {
        "PostgreSQL": report["postgres"],
        "Redis": report["redis"],
        "Load average": f"{report['load_before']} before, {report['load_after']} after (1, 5, 15 min)",
    }
    out.append(table(["", ""], [[k, v] for k, v in described.items()]))
    out.append("")
    cached_runs = [result for results in report["servers"].values() for result in results.values()]
    busy = mean_others([*cached_runs, report["nginx"]])
    out.append(
        f"CPU used by anything but the server under test and wrk, on average: {busy:.0%} of the machine "
        "during the runs on cached pages (where PostgreSQL is idle: that is other work), "
        f"{mean_others(list(report['cache_off'].values())):.0%} during the runs with the cache off "
        "(PostgreSQL, Redis and other work)."
    )
    if busy > BUSY_SHARE:
        out.append("")
        out.append(
            "**The machine was busy**: other work took CPU time from the servers and wrk, so requests "
            "per second are lower and noisier than on an idle machine; CPU time per answer is less "
            "affected."
        )
    out.append("")
    out.append(f"### Pages, served by {winner.describe()}")
    out.append("")
    out.append(
        "Production settings (`DJANGO_DEBUG=false`, whitenoise, `DJANGO_CONN_MAX_AGE=600`), "
        "PostgreSQL and Redis on the same machine. *Cache on*: the anonymous page cache "
        "(`NEWSAPP_PAGE_CACHE_SECONDS=600`) serves warm pages; *cache off*: `NEWSAPP_PAGE_CACHE_SECONDS=0`, "
        "every request renders (warm database). Queries: SQL queries of one full render, and of a page "
        "cache hit. In-process: the median time of one answer through Django's test client (no server, "
        "no network), rendered and from the page cache. CPU: the app server's CPU time per answer "
        "(PostgreSQL, Redis and wrk not included), which other work on the machine changes much less "
        "than requests per second."
    )
    out.append("")
    rows = []
    for name, path in report["pages"].items():
        q = queries[name]
        hit = "not cached" if name in NEVER_CACHED else ("miss!" if q["hit"] is None else str(q["hit"]))
        hit_ms = "–" if name in NEVER_CACHED else ms(q["hit_ms"])
        rows.append([
            name, f"`{path}`", f"{q['render']} / {hit}", f"{ms(q['render_ms'])} / {hit_ms}",
            rps(on[name]), ms(on[name].p50_ms), ms(on[name].p99_ms), ms(on[name].cpu_ms),
            rps(off[name]), ms(off[name].p50_ms), ms(off[name].p99_ms), ms(off[name].cpu_ms),
            f"{on[name].error_text()} / {off[name].error_text()}",
        ])  # fmt: skip
    out.append(table(
        ["page", "URL", "queries: render / hit", "in-process: render / hit",
         "cache on req/s", "p50", "p99", "CPU", "cache off req/s", "p50", "p99", "CPU", "errors (on / off)"],
        rows,
    ))  # fmt: skip
    out.append("")
    out.append("### App servers on the cached pages")
    out.append("")
    out.append(
        "Each setup with the page cache on, the same settings and the same wrk runs; all of them run at "
        "once and are measured in turns, page by page. The winner has the highest geometric mean of the "
        "cached home, section and article pages' requests per second."
    )
    out.append("")
    servers = report["servers"]
    mean = {server: geomean([servers[server][name].rps for name in CACHED_PAGES]) for server in servers}
    ranked = sorted(servers, key=lambda server: -mean[server])
    if len(ranked) > 1:
        runner_up = ranked[1]
        out.append(
            f"Fastest: **{winner.describe()}**, {mean[winner] / mean[runner_up] - 1:+.0%} requests per "
            f"second on the cached pages (geometric mean) over the next best, {runner_up.describe()}."
        )
        out.append("")
    rows = []
    for server in ranked:
        results = servers[server]
        versus = "" if server == winner else f" ({mean[server] / mean[winner] - 1:+.0%})"
        cpu = [results[name].cpu_ms for name in CACHED_PAGES if results[name].cpu_ms is not None]
        rows.append([
            f"**{server.name}**" if server == winner else server.name,
            server.describe(),
            *(rps(results[name]) for name in (*CACHED_PAGES, "health")),
            f"{mean[server]:,.0f}{versus}",
            f"{ms(sum(cpu) / len(cpu) if cpu else None)} / {ms(results['health'].cpu_ms)}",
            ms(max(results[name].p99_ms for name in CACHED_PAGES)),
            f"{min(results[name].rps for name in CACHED_PAGES) / results['health'].rps:.0%}",
            str(sum(result.errors for result in results.values())),
        ])  # fmt: skip
    out.append(table(
        ["server", "setup", "home", "section", "article", "health", "geo. mean (vs best)",
         "CPU per answer: cached pages / health", "worst p99", "cheapest page / health", "errors"],
        rows,
    ))  # fmt: skip
    out.append("")
    nginx: Result = report["nginx"]
    out.append("### The physical limit: nginx serving the saved home page")
    out.append("")
    out.append(
        f"nginx {report['machine']['nginx']} ({args.nginx_workers} workers, loopback, a config of the "
        f"benchmark's own) serving a saved copy of the home page ({report['home_bytes']:,} bytes), "
        f"measured in the same turn as the app servers' home pages: "
        f"**{rps(nginx)} req/s**, p50 {ms(nginx.p50_ms)}, p99 {ms(nginx.p99_ms)}, "
        f"CPU {ms(nginx.cpu_ms)} per answer, errors "
        f"{nginx.error_text()}. The app's cached home page: {rps(on['home'])} req/s, "
        f"**{on['home'].rps / nginx.rps:.1%} of nginx's**; its health check: "
        f"{health_share(on, nginx)} of nginx's."
    )
    out.append("")
    out.append("### Targets (issue 5)")
    out.append("")
    out.append(
        table(
            ["target", "measured", "met"],
            [[t, m, "yes" if ok else "**no**"] for t, m, ok in report["targets"]],
        )
    )
    return "\n".join(out) + "\n"


def health_share(on: dict[str, Result], nginx: Result) -> str:
    return f"{on['health'].rps / nginx.rps:.1%}" if nginx.rps else "–"


DEFAULT_INTRO = """\
# Performance

Measured by `make bench` (bench/run.py); the section below is rewritten by each run.

"""


def write_doc(markdown: str) -> None:
    block = f"{MARK_START}\n{markdown}{MARK_END}\n"
    text = DOC.read_text() if DOC.exists() else DEFAULT_INTRO
    if MARK_START in text and MARK_END in text:
        before, rest = text.split(MARK_START, 1)
        after = rest.split(MARK_END, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    DOC.write_text(text)


# --------------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults take about 3 minutes on 2 cores, 4 when the database is seeded first.",
    )  # fmt: skip
    parser.add_argument(
        "--articles",
        type=int,
        default=10_000,
        metavar="N",
        help="generated stories on top of the demo newsroom (default 10000)",
    )
    parser.add_argument(
        "--duration", type=int, default=7, metavar="S", help="seconds of each measured wrk run (default 7)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        metavar="S",
        help="seconds of wrk warm-up before each measured run, not counted (default 1; 0: none)",
    )
    parser.add_argument(
        "--servers",
        default=DEFAULT_SERVERS,
        metavar="LIST",
        help="app server setups compared on the cached pages, comma-separated: KIND[:WORKERS[xTHREADS]] "
        f"with KIND one of {', '.join(Server.KINDS)} (default {DEFAULT_SERVERS})",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--nginx-workers", type=int, default=2, help="nginx worker processes (default 2)")
    parser.add_argument(
        "--fresh", action="store_true", help="drop and seed the benchmark database even if reusable"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 2 s per measurement, no warm-up runs, docs/performance.md left alone",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--allow-errors", action="store_true", help="exit 0 even if some requests failed")
    parser.add_argument(
        "--require-targets", action="store_true", help="exit 3 when a target of issue 5 is missed"
    )
    parser.add_argument(
        "--time-limit",
        type=int,
        default=300,
        metavar="S",
        help="stop everything and fail after this many seconds, not counting the installation of "
        "missing packages (default 300)",
    )
    args = parser.parse_args(argv)
    servers = []
    for spec in args.servers.split(","):
        try:
            servers.append(Server.parse(spec))
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
    if not servers:
        parser.error("--servers: name at least one")
    args.servers = list(dict.fromkeys(servers))
    if args.quick:
        args.duration, args.warmup, args.no_docs = 2, 0, True
    if args.articles < 0 or args.duration < 1 or args.warmup < 0:
        parser.error("--articles must be 0 or more, --duration at least 1, --warmup 0 or more")
    return args


def benchmark(args) -> dict:
    options = " ".join(sys.argv[1:])
    if os.environ.get("MAKELEVEL"):
        command = f'make bench BENCH_ARGS="{options}"' if options else "make bench"
    else:
        command = f"bench/run.py {options}".strip()
    report = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "load_before": load_average(),
    }
    for folder in ("logs", "run", "static", "media"):
        (VAR / folder).mkdir(parents=True, exist_ok=True)
    for old in (VAR / "logs").glob("*.log"):
        old.unlink()
    ensure_tools()
    missing = [server.name for server in args.servers if not server.installed()]
    if missing:
        raise BenchError(
            f"not installed in {BIN}: {', '.join(missing)} (`make bench` installs the bench group)"
        )
    services = start_services()
    # The time limit counts from here: installing packages and PostgreSQL happens once per machine.
    report["setup_seconds"] = CLOCK.elapsed
    signal.alarm(args.time_limit)
    flush_redis(services["CACHE_URL"])
    env = app_env(services)
    state, report["seeding"] = prepare_database(env, args)
    report["articles"] = state["articles"]
    report["postgres"] = state["database"].removeprefix("postgresql ")
    report["redis"] = redis_version(services["CACHE_URL"])
    log("collecting static files (whitenoise, compressed and hashed)")
    manage(env, "collectstatic", "--noinput", "-v0")
    pages = dict(PAGES, article=state["article_url"])
    report["pages"] = pages
    log("counting SQL queries per page (in-process, cache off and cache hit)")
    report["queries"] = count_queries(env, pages)
    flush_redis(services["CACHE_URL"])

    names = ", ".join(server.name for server in args.servers)
    log(f"app servers on the cached pages, all running, measured in turns: {names} (and nginx)")
    compared = {name: pages[name] for name in (*CACHED_PAGES, "health")}
    results: dict[Server, dict[str, Result]] = {server: {} for server in args.servers}
    runs = []
    with contextlib.ExitStack() as stack:
        running = {s: stack.enter_context(RunningServer(s, env, cache_seconds=600)) for s in args.servers}
        for server in running.values():
            server.wait()
            check_pages(server.port, compared)
        first = next(iter(running.values()))
        status, _, home_html = http_get(first.port, "/")
        if status != 200:
            raise BenchError(f"home page answered {status}")
        nginx = stack.enter_context(Nginx(home_html, args))
        # Page by page, each server in turn: a change in the machine's load spreads over all of them.
        for name, path in compared.items():
            for server, instance in running.items():
                results[server][name] = measure(
                    instance.url(path), server.name, "cache-on", name, args, pgid=instance.proc.pid
                )
                runs.append((f"{server.name} cache on {name}", results[server][name]))
            if name == "home":
                report["nginx"] = measure(nginx.url, Nginx.NAME, "static", "home", args, pgid=nginx.proc.pid)
                runs.append(("nginx home", report["nginx"]))
        report["servers"] = results
        winner = max(results, key=lambda s: geomean([results[s][n].rps for n in CACHED_PAGES]))
        report["winner"] = winner
        log(f"fastest on the cached pages: {winner.name}; measuring every page with it, cache on and off")
        rest = {name: path for name, path in pages.items() if name not in compared}
        cache_on = results[winner] | measure_pages(running[winner], rest, "cache-on", args)
        runs += [(f"{winner.name} cache on {name}", cache_on[name]) for name in rest]
    with RunningServer(winner, env, cache_seconds=0) as instance:
        cache_off = measure_pages(instance.wait(), pages, "cache-off", args)
    runs += [(f"{winner.name} cache off {name}", result) for name, result in cache_off.items()]
    report["cache_on"] = {name: cache_on[name] for name in pages}
    report["cache_off"] = cache_off
    report["home_bytes"] = len(home_html)
    report["all_runs"] = runs
    report["machine"] = machine()
    report["load_after"] = load_average()
    report["targets"] = targets(report)
    return report


def stop_on_signal(signum, frame):
    raise SystemExit(f"bench: stopped by signal {signal.Signals(signum).name}")


def over_time(signum, frame):
    raise TimeLimit


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print(
            "bench: run as root (it starts PostgreSQL and Redis and may install packages with apt)",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    signal.signal(signal.SIGALRM, over_time)
    report = None
    try:
        report = benchmark(args)
        report["elapsed"] = CLOCK.elapsed
    except BenchError as exc:
        warn(f"bench failed: {exc}")
    except TimeLimit:
        warn(f"bench stopped: it ran longer than --time-limit {args.time_limit} s")
    except KeyboardInterrupt:
        warn("bench interrupted")
    finally:
        signal.alarm(0)
        PROCESSES.stop_all()
        left = PROCESSES.leftovers()
        if left:
            warn(f"processes still running after clean-up: {left}")
        else:
            groups = len(PROCESSES.groups)
            log(f"stopped every process the benchmark started ({groups} process groups, none left)")
    if report is None:
        return 2
    markdown = render(report, args)
    print("\n" + markdown)
    if not args.no_docs:
        write_doc(markdown)
        log(f"wrote {DOC.relative_to(ROOT)}")
    missed = [target for target, _, ok in report["targets"] if not ok]
    failed_runs = [label for label, result in report["all_runs"] if result.errors]
    met = len(report["targets"]) - len(missed)
    log(f"done in {CLOCK.elapsed:.0f} s; targets met: {met}/{len(report['targets'])}")
    if failed_runs and not args.allow_errors:
        warn(f"FAILED: requests failed in {len(failed_runs)} run(s): {', '.join(failed_runs)}")
        return 1
    if missed and args.require_targets:
        warn(f"targets missed: {'; '.join(missed)}")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
