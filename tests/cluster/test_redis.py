"""The cluster runs a Redis of its own (scripts/cluster/redis.sh), not the machine's shared one on
6379: the cache and the task queue point at it, it keeps nothing on disk, and its PID file names it,
so `make cluster-stop` (tests/cluster/test_stop.py) and the failure drill can stop it."""

import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from tests.cluster.cluster import CLUSTER, family, fetch, pids

pytestmark = pytest.mark.cluster


def test_the_cache_and_the_queue_are_on_the_clusters_own_redis(cluster):
    own = urlsplit(cluster.urls["redis"])
    assert (own.hostname, own.port) == ("127.0.0.1", 6380)
    cache, queue = urlsplit(cluster.env["CACHE_URL"]), urlsplit(cluster.env["NEWSAPP_TASKS_REDIS_URL"])
    assert (cache.hostname, cache.port) == (queue.hostname, queue.port) == (own.hostname, own.port)
    assert cache.path != queue.path, "the cache and the task queue share a database"

    server = redis.Redis(host=own.hostname, port=own.port, socket_timeout=5)
    pid = server.info("server")["process_id"]
    assert pids().get("redis") == pid, f"redis.pid names {pids().get('redis')}, Redis on {own.port} is {pid}"
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert command.startswith(f"redis-server --port {own.port} --bind 127.0.0.1 --dir {CLUSTER / 'redis'}")
    # No persistence: a restart starts empty, as the drill expects.
    assert server.config_get("save") == {"save": ""}
    assert server.config_get("appendonly") == {"appendonly": "no"}


def connected_to(port: int) -> set[int]:
    """The processes with an open TCP connection to `port` on loopback (ss, as root)."""
    done = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( dport = :{port} )"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {int(pid) for pid in re.findall(r"pid=(\d+)", done.stdout)}


def test_the_clusters_processes_use_its_redis_and_not_the_machines(cluster):
    running = pids()
    workers = {name: family(pid) for name, pid in running.items() if name.startswith("worker-")}
    apps = {name: family(pid) for name, pid in running.items() if name.startswith("app-")}
    assert len(workers) >= 2 and len(apps) == 2, sorted(running)
    port = urlsplit(cluster.urls["redis"]).port
    # Each worker waits for a task on a connection to the queue; an app server connects when a page
    # needs the cache (a few seconds later when Redis was just restarted: its breaker waits).
    deadline = time.monotonic() + 15
    while True:
        for app in cluster.apps:
            assert fetch(app + "/").status == 200
        own = connected_to(port)
        if all(members & own for members in apps.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert all(members & own for members in workers.values()), f"workers elsewhere: {workers}"
    assert all(members & own for members in apps.values()), f"app servers elsewhere: {apps}"
    cluster_pids = set().union(*workers.values(), *apps.values())
    assert not cluster_pids & connected_to(6379), "a process of the cluster uses the machine's Redis"
