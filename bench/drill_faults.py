"""What the failure drill breaks and brings back (bench/drill.py), each as the cluster has it: an app
server (SIGKILL to it and every process under it, then the same command started again with the same
environment, its PID in the cluster's PID file, so `make cluster-stop` stops it), Redis, and the
replica (pg_ctl stop -m fast, then start, as scripts/cluster/start.sh does)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

from bench.cluster_setup import CLUSTER, PIDS, Cluster, descendants, listener, read_pid, wait_for
from bench.lib.processes import BenchError, http_get, run

PG_BIN = Path(f"/usr/lib/postgresql/{os.environ.get('NEWSAPP_PG_VERSION', '15')}/bin")


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
    """The cluster's Redis. Restarted (SHUTDOWN NOSAVE, then redis-server with the same settings) when
    the cluster started it (pids/redis.pid) or when allowed to restart a Redis the cluster shares;
    otherwise only what the cluster has in it is cut: every connection to its databases (cache and
    task queue) closed and the cache emptied, as a restart without persistence would leave them, while
    the Redis other programs use stays up."""

    def __init__(self, cluster: Cluster, *, restart_shared: bool):
        cache = urllib.parse.urlsplit(cluster.env["CACHE_URL"])
        queue = urllib.parse.urlsplit(cluster.env.get("NEWSAPP_TASKS_REDIS_URL", cluster.env["CACHE_URL"]))
        self.host, self.port = cache.hostname, cache.port or 6379
        self.databases = {int(cache.path.strip("/") or 0), int(queue.path.strip("/") or 0)}
        self.cache_db = int(cache.path.strip("/") or 0)
        self.owned = (PIDS / "redis.pid").exists()
        self.mode = "restart" if self.owned or restart_shared else "cut"
        self.settings: dict | None = None
        self.down_since: float | None = None

    def client(self, db: int = 0):
        import redis

        return redis.Redis(host=self.host, port=self.port, db=db, socket_timeout=5)

    def stop(self) -> str:
        import redis

        client = self.client()
        if self.mode == "cut":
            mine = client.client_id()
            cut = [c for c in client.client_list() if int(c["db"]) in self.databases and int(c["id"]) != mine]
            for found in cut:
                with contextlib.suppress(redis.RedisError):
                    client.client_kill_filter(_id=found["id"])
            self.client(self.cache_db).flushdb()
            closed = f"{len(cut)} connections to Redis db {sorted(self.databases)} closed"
            return f"{closed}, db {self.cache_db} emptied"
        names = ("port", "bind", "dir", "save", "appendonly", "logfile", "pidfile", "daemonize", "databases")
        self.settings = {name: client.config_get(name).get(name, "") for name in names}
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)
        self.down_since = time.monotonic()
        wait_for(lambda: listener(self.port) is None, seconds=15, what="Redis stopped")
        return f"Redis on port {self.port} shut down (SHUTDOWN NOSAVE)"

    def start(self) -> str:
        if self.mode == "cut" or self.settings is None:
            return "nothing to start"
        s = self.settings
        argv = ["redis-server", "--daemonize", "yes"]
        for name in ("port", "bind", "dir", "save", "appendonly", "databases", "logfile"):
            argv += [f"--{name}", s[name]]
        if s["pidfile"]:
            argv += ["--pidfile", s["pidfile"]]
        run(argv, cwd="/")
        wait_for(lambda: self.client().ping(), seconds=15, what="Redis answering again")
        if self.owned:
            (PIDS / "redis.pid").write_text(f"{self.client().info('server')['process_id']}\n")
        self.settings, self.down_since = None, None
        return f"Redis on port {self.port} started again (empty)"


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
