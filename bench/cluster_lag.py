"""Replica lag under a write burst (bench/cluster.py): bench/cluster_writer.py saves stories through
the ORM in the cluster's environment, then rewrites every story's row in one UPDATE, while this
samples the primary's pg_stat_replication every 50 ms (bytes not yet replayed, replay_lag) and the
replica's own view (seconds since the last transaction it replayed)."""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time

from bench.cluster_purge import WRITER, percentile
from bench.cluster_setup import Cluster
from bench.lib.processes import PYTHON, ROOT, BenchError, log

PRIMARY_SQL = """
SELECT COALESCE(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint,
       COALESCE(EXTRACT(EPOCH FROM max(replay_lag)), 0)::float8,
       count(*)
FROM pg_stat_replication
"""
REPLICA_SQL = (
    "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8, pg_is_in_recovery()"
)


class Sampler(threading.Thread):
    """Every `step` seconds: (time, bytes not replayed, replay_lag s, replica's seconds since its last
    replayed transaction)."""

    def __init__(self, primary: str, replica: str, step: float = 0.05):
        super().__init__(daemon=True)
        import psycopg

        self.primary = psycopg.connect(primary, autocommit=True)
        self.replica = psycopg.connect(replica, autocommit=True)
        self.step, self.stop = step, threading.Event()
        self.samples: list[tuple[float, int, float, float | None]] = []
        self.replicas = self.primary.execute(PRIMARY_SQL).fetchone()[2]
        if not self.replica.execute(REPLICA_SQL).fetchone()[1]:
            raise BenchError("the replica's URL leads to a server that is not in recovery")

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                behind, replay_lag, _ = self.primary.execute(PRIMARY_SQL).fetchone()
                since, _ = self.replica.execute(REPLICA_SQL).fetchone()
                self.samples.append((started, int(behind), float(replay_lag), since))
                self.stop.wait(max(0.0, self.step - (time.monotonic() - started)))
        finally:
            self.primary.close()
            self.replica.close()


def summary(samples: list, start: float, end: float) -> dict:
    """Max and p99 of bytes behind and replay_lag among the samples within [start, end]."""
    window = [s for s in samples if start <= s[0] <= end]
    if not window:
        return {}
    behind = [s[1] for s in window]
    lag = [s[2] for s in window]
    since = [s[3] for s in window if s[3] is not None]
    return {
        "samples": len(window),
        "bytes_max": max(behind),
        "bytes_p99": percentile(behind, 0.99),
        "bytes_median": statistics.median(behind),
        "lag_max": max(lag),
        "lag_p99": percentile(lag, 0.99),
        "lag_median": statistics.median(lag),
        # The replica's own view: while commits keep coming, how old the newest one it replayed is.
        "since_p99": percentile(since, 0.99) if since else None,
        "since_max": max(since, default=None),
    }


def write_burst(cluster: Cluster, *, saves: int, imported: int, var) -> dict:
    sampler = Sampler(cluster.database_url("primary"), cluster.database_url("replica"))
    if not sampler.replicas:
        raise BenchError("pg_stat_replication on the primary lists no replica")
    sampler.start()
    log(f"  {saves:,} story saves through the ORM, then {imported:,} drafts imported in one transaction")
    with open(var / "logs" / "writer-burst.log", "ab") as errors:
        done = subprocess.run(
            [PYTHON, str(WRITER), "burst", str(saves), str(imported)],
            cwd=ROOT,
            env=cluster.process_env(),
            stdout=subprocess.PIPE,
            stderr=errors,
            check=False,
        )
    ended = time.monotonic()
    # Until the replica has caught up (or 30 s): the lag after the last write counts too.
    deadline = ended + 30
    while time.monotonic() < deadline and (not sampler.samples or sampler.samples[-1][1] > 0):
        time.sleep(0.05)
    caught_up = time.monotonic() - ended
    sampler.stop.set()
    sampler.join(timeout=5)
    if done.returncode:
        raise BenchError(
            f"bench/cluster_writer.py burst failed ({done.returncode}): see {var}/logs/writer-burst.log"
        )
    writes = json.loads(done.stdout.decode().strip().splitlines()[-1])
    # The writer's times are time.monotonic() too (one clock for every process of the machine).
    first, saved, last = writes["saves_started"], writes["saves_ended"], writes["import_ended"]
    return {
        "writes": writes,
        "replicas": sampler.replicas,
        "saves": summary(sampler.samples, first + 0.5, saved),
        "import": summary(sampler.samples, saved, last + caught_up),
        "caught_up_s": caught_up,
    }
