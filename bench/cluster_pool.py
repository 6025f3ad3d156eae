"""PgBouncer or not (bench/cluster.py): uncached pages (page cache off) from app servers of this
run's own, set up as the cluster's are, reading the cluster's primary and replica directly or
through a PgBouncer of this run's own (transaction pooling), with Django's persistent connections
and with a connection per request. Measured in turns, page by page."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

from bench.cluster_pages import load, measure
from bench.cluster_setup import Cluster, argv_of, listener, option
from bench.lib.processes import HOST, PROCESSES, BenchError, free_port, log
from bench.lib.servers import RunningServer, Server
from bench.lib.wrk import Result

PGBOUNCER_INI = """\
; Written by bench/cluster_pool.py: PgBouncer in front of the cluster's primary and replica.
[databases]
{name} = host={primary_host} port={primary_port} dbname={name}
{name}_replica = host={replica_host} port={replica_port} dbname={name}

[pgbouncer]
listen_addr = {host}
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {dir}/userlist.txt
; Django's default client-side binding never prepares statements: transaction pooling is safe.
pool_mode = transaction
default_pool_size = 20
reserve_pool_size = 5
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
"""


class PgBouncer:
    """pgbouncer on a free loopback port, as the postgres user (it refuses to run as root)."""

    def __init__(self, primary: str, replica: str, *, var: Path):
        self.folder = var / "pgbouncer"
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.port = free_port()
        self.primary, self.replica = urllib.parse.urlsplit(primary), urllib.parse.urlsplit(replica)
        self.name = self.primary.path.lstrip("/")
        self.var = var
        (self.folder / "pgbouncer.ini").write_text(
            PGBOUNCER_INI.format(
                name=self.name,
                primary_host=self.primary.hostname,
                primary_port=self.primary.port or 5432,
                replica_host=self.replica.hostname,
                replica_port=self.replica.port or 5432,
                host=HOST,
                port=self.port,
                dir=self.folder,
            )
        )
        user, password = (
            urllib.parse.unquote(self.primary.username),
            urllib.parse.unquote(self.primary.password),
        )
        (self.folder / "userlist.txt").write_text(f'"{user}" "{password}"\n')
        shutil.chown(self.folder, "postgres")
        for path in self.folder.iterdir():
            shutil.chown(path, "postgres")
            path.chmod(0o600)
        self.proc = None

    def url(self, replica: bool = False, *, django: bool = True) -> str:
        parts = self.primary._replace(
            netloc=f"{self.primary.username}:{self.primary.password}@{HOST}:{self.port}",
            path=f"/{self.name}_replica" if replica else f"/{self.name}",
            # Transaction pooling: no server-side cursor may outlive its transaction.
            query="disable_server_side_cursors=True" if django else "",
        )
        return urllib.parse.urlunsplit(parts)

    def __enter__(self) -> PgBouncer:
        argv = ["runuser", "-u", "postgres", "--", "pgbouncer", str(self.folder / "pgbouncer.ini")]
        self.proc = PROCESSES.start(
            "pgbouncer", argv, env=os.environ.copy(), log_path=self.var / "logs/pgbouncer.log"
        )
        import psycopg

        for _ in range(100):
            if self.proc.poll() is not None:
                raise BenchError(
                    f"pgbouncer exited ({self.proc.returncode}); see {self.folder}/pgbouncer.log"
                )
            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(self.url(django=False), connect_timeout=2) as conn,
            ):
                conn.execute("SELECT 1")
                return self
            time.sleep(0.1)
        raise BenchError(f"pgbouncer does not answer on port {self.port}")

    def __exit__(self, *exc_info):
        if self.proc:
            PROCESSES.stop(self.proc)


def app_setup(cluster: Cluster) -> Server:
    """granian with the cluster's app servers' workers and threads (2x4 when they cannot be read)."""
    pid = listener(cluster.apps[0])
    argv = argv_of(pid) if pid else []
    workers = int(option(argv, "--workers", "2"))
    threads = int(option(argv, "--blocking-threads", "4"))
    return Server("granian", workers, threads)


def pooling(cluster: Cluster, pages: dict[str, str], args, *, primary: str, replica: str, var: Path) -> dict:
    server = app_setup(cluster)
    conn_max_age = cluster.env.get("DJANGO_CONN_MAX_AGE", "60")
    results: dict[str, dict[str, Result]] = {}
    with PgBouncer(primary, replica, var=var) as bouncer, contextlib.ExitStack() as stack:
        setups = {
            f"direct, persistent ({conn_max_age} s)": (primary, replica, conn_max_age),
            "PgBouncer, persistent": (bouncer.url(), bouncer.url(replica=True), conn_max_age),
            "direct, a connection per request": (primary, replica, "0"),
            "PgBouncer, a connection per request": (bouncer.url(), bouncer.url(replica=True), "0"),
        }
        running = {}
        for n, (name, (database, reader, max_age)) in enumerate(setups.items()):
            folder = var / f"pool-{n}"
            for sub in ("logs", "run"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            env = cluster.process_env(
                DATABASE_URL=database, DATABASE_REPLICA_URL=reader, DJANGO_CONN_MAX_AGE=max_age
            )
            running[name] = stack.enter_context(RunningServer(server, env, cache_seconds=0, var=folder))
        for instance in running.values():
            instance.wait()
        # Every worker of every server warm (templates, fragments, connections) before anything
        # counts: otherwise the first setup measured pays for the first requests.
        for instance in running.values():
            for path in pages.values():
                load([instance.port], path, 1, args, tag="pool-warm", pids=[instance.proc.pid], var=var)
        log(f"uncached pages (page cache off), {server.name} as the cluster's, direct and through PgBouncer")
        for page, path in pages.items():
            for name, instance in running.items():
                pids = [instance.proc.pid] + ([bouncer.proc.pid] if "PgBouncer" in name else [])
                results.setdefault(name, {})[page] = measure(
                    name, [instance.port], path, page, args, pids=pids, var=var
                )
    version = subprocess.run(["pgbouncer", "--version"], capture_output=True, text=True, check=False)
    return {
        "server": server.describe(),
        "connections": server.workers * server.threads,
        "pgbouncer": (version.stdout.splitlines() or ["PgBouncer"])[0],
        "results": results,
    }
