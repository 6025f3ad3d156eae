"""What a purge costs (bench/cluster.py): a PURGE's round trip to Varnish, the time from a publish's
commit to its purge answered and to the front page showing it through the proxy, and the dip in
requests per second (and the misses) when `site` or one story is purged under load."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import statistics
import threading
import time
from pathlib import Path

from bench.cluster_setup import Cluster, varnish_counters
from bench.lib.processes import HOST, PYTHON, ROOT, BenchError, log, run
from bench.lib.wrk import Result, wrk

MIX_LUA = ROOT / "bench" / "search_mix.lua"  # takes turns over the paths listed in $SEARCH_PATHS
WRITER = ROOT / "bench" / "cluster_writer.py"
COUNTERS = ("MAIN.client_req", "MAIN.backend_req", "MAIN.cache_miss")


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


def rates(samples: list[tuple[float, dict]], name: str) -> list[tuple[float, float]]:
    """(middle of the interval, per second) of a counter between consecutive samples."""
    out = []
    for (t0, c0), (t1, c1) in itertools.pairwise(samples):
        if t1 > t0 and name in c0 and name in c1:
            out.append(((t0 + t1) / 2, (c1[name] - c0[name]) / (t1 - t0)))
    return out


def dip(samples: list[tuple[float, dict]], at: float, *, before: float = 3.0, after: float = 2.0) -> dict:
    """Around a purge sent at `at`: requests a second before it (median), the lowest after it, how
    long until back to 90 %, and the backend fetches (misses) in the `after` seconds beyond those
    before it."""
    served = rates(samples, "MAIN.client_req")
    fetched = rates(samples, "MAIN.backend_req")
    base = [rate for t, rate in served if at - before <= t < at]
    following = [(t, rate) for t, rate in served if at <= t < at + after]
    if not base or not following:
        return {}
    baseline = statistics.median(base)
    lowest = min(rate for _, rate in following)
    recovered = next((t - at for t, rate in served if t >= at and rate >= 0.9 * baseline), None)
    base_fetch = statistics.median([r for t, r in fetched if at - before <= t < at] or [0.0])
    spent = [(t, r) for t, r in fetched if at <= t < at + after]
    step = (after / len(spent)) if spent else 0.0
    extra = sum(max(0.0, r - base_fetch) * step for _, r in spent)
    return {
        "baseline_rps": baseline,
        "lowest_rps": lowest,
        "dip": 1 - lowest / baseline if baseline else None,
        "recovered_s": recovered,
        "extra_fetches": extra,
    }


def under_load(cluster: Cluster, state: dict, args, *, var: Path) -> dict:
    """wrk over a mix of pages through the proxy; `site` purged a third of the way in, one story
    two thirds in; Varnish's counters read every 0.25 s meanwhile."""
    if varnish_counters(*COUNTERS) is None:
        return {"error": "varnishstat cannot read the cluster's Varnish: no counters"}
    paths = [state["home"], state["section"], *state["articles"][:6], "/feed/"]
    listed = var / "purge-paths.txt"
    listed.write_text("\n".join(paths) + "\n")
    os.environ["SEARCH_PATHS"] = str(listed)  # read by search_mix.lua in the wrk process
    seconds = max(9, args.duration * 3)
    samples: list[tuple[float, dict]] = []
    outcome: dict[str, Result | BaseException] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            counters = varnish_counters(*COUNTERS)
            if counters:
                samples.append((time.monotonic(), counters))
            stop.wait(0.25)

    def load() -> None:
        try:
            outcome["wrk"] = wrk(
                f"{cluster.urls['proxy'].rstrip('/')}/",
                seconds,
                args,
                var / "logs/wrk-purge.log",
                lua=MIX_LUA,
            )
        except BaseException as exc:  # raised again below
            outcome["wrk"] = exc

    for path in paths:
        cluster_get(cluster.proxy, path)
    sampler, loader = threading.Thread(target=sample), threading.Thread(target=load)
    sampler.start()
    started = time.monotonic()
    loader.start()
    sent = {}
    for key, share in (("site", 1 / 3), (f"story-{state['article_id']}", 2 / 3)):
        time.sleep(max(0.0, started + seconds * share - time.monotonic()))
        sent[key] = time.monotonic()
        status, ms, _ = purge(cluster.purge, key)
        log(f"  PURGE {key} under load: {status} in {ms:.1f} ms")
    loader.join()
    stop.set()
    sampler.join()
    if isinstance(outcome.get("wrk"), BaseException):
        raise outcome["wrk"]
    return {
        "wrk": outcome["wrk"],
        "seconds": seconds,
        "paths": len(paths),
        "dips": {key: dip(samples, at) for key, at in sent.items()},
        "samples": len(samples),
    }
