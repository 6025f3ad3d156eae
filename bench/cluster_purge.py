"""What a purge costs (bench/cluster.py): a PURGE's round trip to Varnish, the time from a publish's
commit to its purge answered and to the front page showing it through the proxy, and the dip in
answers per second, the misses and the latency when `site` or one story is purged under load."""

from __future__ import annotations

import array
import collections
import http.client
import json
import math
import multiprocessing
import statistics
import time
from pathlib import Path

from bench.cluster_setup import Cluster
from bench.lib.processes import HOST, PYTHON, ROOT, BenchError, log, run

WRITER = ROOT / "bench" / "cluster_writer.py"
STEP = 0.25  # seconds: the answers under load are counted in steps this long


def purge(port: int, keys: str) -> tuple[int, float, bytes]:
    """One `PURGE /` with `xkey-purge: KEYS`: (status, milliseconds, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        started = time.perf_counter()
        conn.request("PURGE", "/", headers={"xkey-purge": keys, "Host": f"{HOST}:{port}"})
        response = conn.getresponse()
        body = response.read()
        return response.status, (time.perf_counter() - started) * 1000, body
    finally:
        conn.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def round_trips(cluster: Cluster, state: dict, *, count: int) -> dict:
    """PURGE of one story's key, `count` times (the page cached again before each), and of `site`."""
    times = []
    for _ in range(count):
        cluster_get(cluster.proxy, state["article"])
        status, ms, body = purge(cluster.purge, f"story-{state['article_id']}")
        if status != 200:
            raise BenchError(f"PURGE story-{state['article_id']} answered {status}: {body[:200]!r}")
        times.append(ms)
    for path in (state["home"], state["section"], *state["articles"]):
        cluster_get(cluster.proxy, path)
    status, site_ms, body = purge(cluster.purge, "site")
    return {
        "story_median_ms": statistics.median(times),
        "story_p99_ms": percentile(times, 0.99),
        "count": count,
        "site_ms": site_ms,
        "site_status": status,
        "site_answer": body[:120].decode(errors="replace").strip(),
    }


def cluster_get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def publish_rounds(cluster: Cluster, *, rounds: int, var: Path) -> list[dict]:
    """bench/cluster_writer.py publish in the cluster's environment (see there)."""
    done = run([PYTHON, str(WRITER), "publish", str(rounds), str(cluster.proxy)], env=cluster.process_env())
    return json.loads(done.stdout.strip().splitlines()[-1])["rounds"]


def summarize_rounds(rounds: list[dict]) -> dict:
    """Median and worst of each time (ms from the commit), for publishes and unpublishes."""
    summary = {}
    for change in ("publish", "unpublish"):
        for what in ("purge_answered", "purge_round_trip", "returned", "visible"):
            values = [r[change][what] for r in rounds if r[change][what] is not None]
            missing = len(rounds) - len(values)
            summary[f"{change} {what}"] = (
                (statistics.median(values), max(values), missing) if values else (None, None, missing)
            )
    return summary


def client(port: int, paths: list[str], until: float, out) -> None:
    """Ask for `paths` in turn through the proxy on one keep-alive connection until `until`; put
    (start, seconds, miss, ok) of every answer on `out` as one array of floats (in a process of its
    own, started by under_load)."""
    records = array.array("d")
    conn, turn = http.client.HTTPConnection(HOST, port, timeout=10), 0
    while (started := time.monotonic()) < until:
        turn += 1
        try:
            conn.request("GET", paths[turn % len(paths)])
            response = conn.getresponse()
            response.read()
            miss = not response.getheader("X-Cache", "").startswith("HIT")  # MISS or PASS: an app server
            ok = 200 <= response.status < 300
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            miss, ok = True, False
        records.extend((started, time.monotonic() - started, float(miss), float(ok)))
    conn.close()
    out.put(records.tobytes())


def dip(records: list[tuple], at: float, *, before: float = 3.0, after: float = 2.0) -> dict:
    """Around a purge sent at `at`, from every answer's (start, seconds, miss, ok): answers a second
    before it (the median of 0.25 s steps) and the fewest in a step after it, how long until back to
    90 %, the answers that came from an app server (X-Cache not HIT) in the `after` seconds beyond
    those usual before, and the p99 latency before and in the second after."""
    steps: collections.Counter = collections.Counter()
    for start, seconds, _, _ in records:
        steps[math.floor((start + seconds - at) / STEP)] += 1
    base = [steps[n] / STEP for n in range(-round(before / STEP), 0)]
    following = [steps[n] / STEP for n in range(round(after / STEP))]
    baseline = statistics.median(base)
    if not baseline:
        return {}
    lowest = min(following)
    back = next((n for n, rate in enumerate(following) if rate >= 0.9 * baseline), None)
    misses = [r for r in records if r[2] and at - before <= r[0] + r[1] < at + after]
    usual = sum(1 for r in misses if r[0] + r[1] < at) / before
    fetched = sum(1 for r in misses if r[0] + r[1] >= at)
    earlier = [r[1] * 1000 for r in records if at - before <= r[0] < at]
    later = [r[1] * 1000 for r in records if at <= r[0] < at + 1]
    return {
        "baseline_rps": baseline,
        "lowest_rps": lowest,
        "dip": 1 - lowest / baseline,
        "recovered_s": None if back is None else (back + 1) * STEP,
        "extra_fetches": max(0.0, fetched - usual * after),
        "p99_before_ms": percentile(earlier, 0.99) if earlier else None,
        "p99_after_ms": percentile(later, 0.99) if later else None,
        "errors": sum(1 for r in records if not r[3] and at - before <= r[0] < at + after),
    }


def under_load(cluster: Cluster, state: dict, args, *, var: Path) -> dict:
    """Client processes ask for a mix of pages through the proxy, every answer noted; `site` is purged
    a third of the way in, one story two thirds in. (Not wrk: it tells no time of any answer, and
    Varnish adds a keep-alive session's requests to its counters only when the session ends.)"""
    paths = [state["home"], state["section"], *state["articles"][:6], "/feed/"]
    seconds = max(9, args.duration * 3)
    for path in paths:
        cluster_get(cluster.proxy, path)
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    until = time.monotonic() + 0.5 + seconds
    workers = [
        context.Process(target=client, args=(cluster.proxy, paths[n:] + paths[:n], until, out))
        for n in range(args.clients)
    ]
    for worker in workers:
        worker.start()
    started = until - seconds
    sent = {}
    for key, share in (("site", 1 / 3), (f"story-{state['article_id']}", 2 / 3)):
        time.sleep(max(0.0, started + seconds * share - time.monotonic()))
        sent[key] = time.monotonic()
        status, ms, _ = purge(cluster.purge, key)
        log(f"  PURGE {key} under load: {status} in {ms:.1f} ms")
    records: list[tuple] = []
    for _ in workers:
        flat = array.array("d")
        flat.frombytes(out.get(timeout=seconds + 60))
        records += [tuple(flat[i : i + 4]) for i in range(0, len(flat), 4)]
    for worker in workers:
        worker.join(timeout=10)
    measured = [r for r in records if r[0] >= started]
    latencies = [r[1] * 1000 for r in measured]
    return {
        "clients": args.clients,
        "seconds": seconds,
        "paths": len(paths),
        "rps": len(measured) / seconds,
        "p50_ms": percentile(latencies, 0.5) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
        "errors": sum(1 for r in measured if not r[3]),
        "dips": {key: dip(records, at) for key, at in sent.items()},
    }
