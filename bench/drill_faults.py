"""What the failure drill breaks and brings back (bench/drill.py), each as the cluster has it: an app
server (SIGKILL to it and every process under it, then the same command started again with the same
environment, its PID in the cluster's PID file, so `make cluster-stop` stops it), the cluster's own
Redis (scripts/cluster/redis.sh stop, then start: the cluster's own way) and the replica (pg_ctl stop
-m fast, then start, as scripts/cluster/start.sh does)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

from bench.cluster_setup import CLUSTER, PIDS, Cluster, descendants, listener, read_pid, wait_for
from bench.lib.processes import ROOT, BenchError, http_get, run

PG_BIN = Path(f"/usr/lib/postgresql/{os.environ.get('NEWSAPP_PG_VERSION', '15')}/bin")
# Stops or starts the cluster's Redis alone, as make cluster-stop and make cluster do.
REDIS_SCRIPT = ROOT / "scripts" / "cluster" / "redis.sh"


def alive(pid: int) -> bool:
    """Running (a zombie, dead and not yet reaped, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


class AppServerFault:
    """One of the cluster's app servers (pids/app-PORT.pid)."""

    def __init__(self, port: int):
        self.port = port
        self.pid_path = PIDS / f"app-{port}.pid"
        self.down = False
        self.snapshot: dict | None = None

    def kill(self) -> float:
        """SIGKILL to the server and every process under it; when."""
        pid = read_pid(self.pid_path) or listener(self.port)
        if pid is None:
            raise BenchError(f"no app server runs on port {self.port}")
        proc = Path(f"/proc/{pid}")
        output = os.readlink(proc / "fd" / "1")
        self.snapshot = {
            "argv": [part.decode() for part in (proc / "cmdline").read_bytes().split(b"\0") if part],
            "env": dict(
                item.decode().split("=", 1)
                for item in (proc / "environ").read_bytes().split(b"\0")
                if b"=" in item
            ),
            "cwd": os.readlink(proc / "cwd"),
            "log": output if output.startswith("/") and Path(output).is_file() else None,
        }
        family = descendants(pid)
        killed_at = time.monotonic()
        for member in family:  # the parent first: it cannot start a worker again meanwhile
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
        self.down = True
        wait_for(
            lambda: not any(alive(member) for member in family), seconds=10, what="the killed app server gone"
        )
        return killed_at

    def start(self) -> None:
        """The same command again, in a session of its own (as the cluster's spawn does)."""
        snap = self.snapshot
        log_path = snap["log"] or str(CLUSTER / "logs" / f"app-{self.port}.log")
        with open(log_path, "ab") as output:
            output.write(f"\n===== restarted by bench/drill.py: {' '.join(snap['argv'])}\n".encode())
            output.flush()
            proc = subprocess.Popen(
                snap["argv"], cwd=snap["cwd"], env=snap["env"], stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.pid_path.write_text(f"{proc.pid}\n")
        self.down = False

    def wait_ready(self, seconds: float = 90) -> float:
        return wait_for(
            lambda: http_get(self.port, "/healthz/ready", timeout=2)[0] == 200,
            seconds=seconds,
            what=f"the app server on {self.port} ready again",
        )


class RedisFault:
    """The cluster's own Redis (127.0.0.1:6380, no persistence, pids/redis.pid), restarted for real by
    scripts/cluster/redis.sh: `stop` sends SIGTERM to the PID in its PID file (Redis closes every
    client and exits, keeping nothing), `start` runs the very command `make cluster` starts it with,
    so it comes back empty, as after a crash, under the same PID file."""

    def __init__(self, cluster: Cluster):
        own = urllib.parse.urlsplit(cluster.urls["redis"])
        self.port = own.port
        names = ("CACHE_URL", "NEWSAPP_TASKS_REDIS_URL")
        used = {urllib.parse.urlsplit(cluster.env.get(name, "")).port for name in names}
        if used != {self.port}:
            raise BenchError(
                f"the cluster's cache and task queue are not on its own Redis ({cluster.urls['redis']}): "
                "var/cluster/env is an older make cluster's; run make cluster again"
            )
        if read_pid(PIDS / "redis.pid") is None:
            raise BenchError(f"the cluster's Redis does not run ({PIDS}/redis.pid): run make cluster")
        self.down = False
        self.stopped_at: float | None = None

    def stop(self) -> str:
        """Stop it; `stopped_at` is when (the script's SIGTERM follows within milliseconds)."""
        pid = read_pid(PIDS / "redis.pid")
        self.down, self.stopped_at = True, time.monotonic()
        run([str(REDIS_SCRIPT), "stop"], cwd=ROOT)
        wait_for(lambda: listener(self.port) is None, seconds=15, what="Redis stopped")
        return f"Redis on port {self.port} stopped (SIGTERM to pid {pid}, its PID file's)"

    def start(self) -> str:
        run([str(REDIS_SCRIPT), "start"], cwd=ROOT)
        self.down = False
        return f"Redis on port {self.port} started again, empty (pid {read_pid(PIDS / 'redis.pid')})"


class ReplicaFault:
    """The cluster's streaming replica (var/cluster/replica, pids/replica.pid)."""

    def __init__(self, cluster: Cluster):
        self.url = cluster.database_url("replica")
        self.data = CLUSTER / "replica"
        self.down = False

    def pg_ctl(self, *args: str) -> None:
        run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args], cwd="/")

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            raise BenchError(f"the replica does not run ({self.data}/postmaster.pid is missing)")
        self.down = True
        self.pg_ctl("-m", "fast", "-w", "-t", "60", "stop")

    def start(self) -> float:
        """Start it as start.sh does; seconds until it streams from the primary again."""
        started = time.monotonic()
        self.pg_ctl("-l", str(CLUSTER / "logs" / "replica.log"), "-w", "-t", "120", "start")
        link = PIDS / "replica.pid"
        if not link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to("../replica/postmaster.pid")
        self.down = False

        def streaming() -> bool:
            import psycopg

            with psycopg.connect(self.url, connect_timeout=2) as conn:
                row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
                return row is not None and row[0] == "streaming"

        wait_for(streaming, seconds=60, what="the replica streaming again", step=0.25)
        return time.monotonic() - started
