"""App servers under test: gunicorn (sync or gthread workers) or granian, serving newsapp.wsgi."""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import time
from pathlib import Path

from bench.lib.machine import version
from bench.lib.processes import BIN, HOST, PROCESSES, BenchError, free_port, http_get


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

    def command(self, port: int, *, var: Path) -> list[str]:
        """The command line; its control socket or pid file goes to var/run."""
        if self.kind.startswith("gunicorn"):
            argv = [
                str(BIN / "gunicorn"), "newsapp.wsgi:application",
                "--bind", f"{HOST}:{port}",
                "--workers", str(self.workers),
                "--worker-class", self.kind.removeprefix("gunicorn-"),
                # gunicorn opens a control socket at one default path: each instance gets its own.
                "--control-socket", str(var / "run" / f"{self.slug}.ctl"),
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
            "--pid-file", str(var / "run" / f"{self.slug}.pid"),
        ]  # fmt: skip

    def installed(self) -> bool:
        return (BIN / self.kind.split("-")[0]).exists()


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


class RunningServer:
    """A server running on a free loopback port with the page cache on or off; its log in var/logs."""

    def __init__(self, server: Server, env: dict, *, cache_seconds: int, var: Path):
        self.server = server
        self.var = var
        self.port = free_port()
        mode = "cache-on" if cache_seconds else "cache-off"
        self.log_path = var / "logs" / f"{server.slug}-{mode}.log"
        self.env = env | {"NEWSAPP_PAGE_CACHE_SECONDS": str(cache_seconds)}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> RunningServer:
        """Start the server (wait() waits until it serves: several can boot at once)."""
        self.log_path.write_bytes(b"")
        argv = self.server.command(self.port, var=self.var)
        self.proc = PROCESSES.start(self.server.name, argv, env=self.env, log_path=self.log_path)
        return self

    def wait(self) -> RunningServer:
        wait_until_serving(self.proc, self.server.name, self.port, self.log_path)
        return self

    def __exit__(self, *exc_info):
        if self.proc:
            PROCESSES.stop(self.proc)

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"
