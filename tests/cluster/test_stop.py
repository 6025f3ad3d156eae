"""`make cluster-stop` stops every process of the cluster (those in var/cluster/pids/ and every
process under them: granian's workers, Varnish's child, rq's scheduler, the cluster's own Redis),
frees its ports, leaves the machine's PostgreSQL running when the cluster did not start it, and
leaves the machine's Redis as it found it. It stops the cluster, so it runs last
(tests/cluster/conftest.py)."""

import os
import socket
import subprocess
import time
from urllib.parse import urlsplit

import pytest

from tests.cluster.cluster import PIDS, ROOT, alive, family, pids

pytestmark = [pytest.mark.cluster, pytest.mark.stops_cluster]

# The machine's own Redis (scripts/services.sh), which other programs share: never the cluster's.
MACHINE_REDIS_PORT = 6379


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_cluster_stop_leaves_no_process_of_the_cluster(cluster):
    running = pids()
    expected = {"app-8101", "app-8102", "varnish", "replica", "redis", "worker-1", "worker-2"}
    if cluster.urls.get("pgbouncer"):
        expected.add("pgbouncer")
    assert expected <= set(running), f"PID files in {PIDS}: {sorted(running)}"
    processes = {name: family(pid) for name, pid in running.items()}
    assert all(alive(pid) for pid in running.values()), running
    started_primary = "primary" in running
    machine_redis = listening(MACHINE_REDIS_PORT)
    ports = [urlsplit(url).port for url in (cluster.proxy, *cluster.apps)]
    ports += [6082, urlsplit(cluster.urls["replica"]).port, urlsplit(cluster.urls["redis"]).port]
    if cluster.urls.get("pgbouncer"):
        ports.append(urlsplit(cluster.urls["pgbouncer"]).port)

    env = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    done = subprocess.run(
        ["make", "cluster-stop"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr

    # Stopped means gone: a moment for the kernel to reap what the stop already waited for.
    deadline = time.monotonic() + 5
    left = {name: [pid for pid in members if alive(pid)] for name, members in processes.items()}
    while any(left.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
        left = {name: [pid for pid in members if alive(pid)] for name, members in left.items()}
    assert not any(left.values()), f"still running after make cluster-stop: {left}"
    assert not list(PIDS.glob("*.pid")), list(PIDS.glob("*.pid"))
    assert not [port for port in ports if listening(port)], f"ports still open: {ports}"
    # What the cluster did not start, it left running; the machine's Redis is not the cluster's at all.
    if not started_primary:
        assert listening(5432), "the machine's PostgreSQL was stopped, though the cluster did not start it"
    assert listening(MACHINE_REDIS_PORT) == machine_redis, "make cluster-stop touched the machine's Redis"
