"""The soak's own services (bench/soak.py): a Redis it may kill, freeze and start again, and the two
app servers, each in a process group of its own so that a SIGKILL takes the whole server down."""

from __future__ import annotations

import os
import signal
import time

from bench.lib.processes import BIN, HOST, PROCESSES, ROOT, BenchError, free_port, http_get

VAR = ROOT / "var" / "soak"


class Redis:
    """A redis-server of the soak's own, in its own process group, so that it can be killed."""

    def __init__(self, port: int):
        self.port = port
        self.proc = None
        self.frozen = False

    def argv(self) -> list[str]:
        return [
            "redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", str(VAR / "run"),
        ]  # fmt: skip

    def start(self) -> None:
        self.proc = PROCESSES.start(
            "redis", self.argv(), env=os.environ.copy(), log_path=VAR / "logs/redis.log"
        )
        import redis

        client = redis.Redis(host=HOST, port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.RedisError as exc:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise BenchError(
                        f"redis-server did not answer on port {self.port} (see var/soak/logs)"
                    ) from exc
                time.sleep(0.05)

    def kill(self) -> None:
        kill_group(self.proc)

    def freeze(self, frozen: bool) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP if frozen else signal.SIGCONT)
        self.frozen = frozen


def kill_group(proc) -> None:
    """SIGKILL a process group started by PROCESSES, and reap it: a crash, not a stop."""
    PROCESSES.running.pop(proc.pid, None)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


class AppServer:
    def __init__(self, name: str, env: dict, args):
        self.name, self.env, self.args = name, env, args
        self.port = free_port()
        self.proc = None

    def start(self) -> None:
        argv = [
            str(BIN / "granian"), "newsapp.wsgi:application", "--interface", "wsgi",
            "--host", HOST, "--port", str(self.port), "--workers", str(self.args.workers),
            "--blocking-threads", str(self.args.threads), "--no-ws", "--log-level", "warning",
        ]  # fmt: skip
        self.proc = PROCESSES.start(self.name, argv, env=self.env, log_path=VAR / f"logs/{self.name}.log")

    def wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.proc.returncode}); see var/soak/logs")
            try:
                if http_get(self.port, "/healthz/live", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer on port {self.port} within {timeout:.0f} s")


def restart_wait(server: AppServer, failures: list[str]) -> None:
    try:
        server.wait()
    except BenchError as exc:
        failures.append(str(exc))
