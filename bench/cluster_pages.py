"""The pages side by side (bench/cluster.py): wrk through the proxy, through one app server and both,
nginx serving each page's bytes from disk, and nginx's proxy_cache in front of the same two app
servers; each run with the CPU time per answer of what served it."""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import threading
import time
from pathlib import Path

from bench.cluster_setup import Cluster, listener, tree_cpu_seconds, varnish_counters
from bench.lib.nginx import Nginx
from bench.lib.processes import (
    HOST,
    PROCESSES,
    BenchError,
    children_cpu_seconds,
    free_port,
    http_get,
    log,
    machine_cpu,
    warn,
)
from bench.lib.wrk import LUA, Result, wrk

NGINX_CACHE_CONF = """\
# Written by bench/cluster_pages.py: nginx's proxy_cache in front of the cluster's two app servers,
# keeping what the app says it may keep (Cache-Control: public, s-maxage), to compare with Varnish.
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format cache $upstream_cache_status;
    access_log {dir}/cache.log cache buffer=64k flush=1s;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    proxy_cache_path {dir}/cache levels=1:2 keys_zone=pages:10m max_size=256m inactive=10m use_temp_path=off;
    keepalive_requests 100000;
    upstream apps {{
        {servers}
        keepalive 32;
    }}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://apps;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_cache pages;
            proxy_cache_key $scheme$http_host$request_uri;
            proxy_cache_lock on;
            proxy_cache_use_stale updating;
            proxy_next_upstream error timeout http_502 http_503;
            add_header X-Cache-Status $upstream_cache_status;
        }}
    }}
}}
"""


class NginxCache:
    """nginx on a free loopback port: proxy_cache in front of the two app servers."""

    NAME = "nginx proxy_cache"

    def __init__(self, apps: list[int], *, workers: int, var: Path):
        self.var, self.folder = var, var / "nginx-cache"
        shutil.rmtree(self.folder, ignore_errors=True)
        (self.folder / "tmp").mkdir(parents=True)
        self.port = free_port()
        servers = "\n        ".join(f"server {HOST}:{port};" for port in apps)
        self.conf = self.folder / "nginx.conf"
        self.conf.write_text(
            NGINX_CACHE_CONF.format(
                workers=workers, dir=self.folder, host=HOST, port=self.port, servers=servers
            )
        )
        self.proc = None

    def __enter__(self) -> NginxCache:
        argv = ["nginx", "-e", str(self.folder / "error.log"), "-p", str(self.folder), "-c", str(self.conf)]
        self.proc = PROCESSES.start(
            self.NAME, argv, env=os.environ.copy(), log_path=self.var / "logs/nginx.log"
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                errors = (self.folder / "error.log").read_text(errors="replace")[-2000:]
                raise BenchError(f"nginx (proxy_cache) exited ({self.proc.returncode}): {errors}")
            try:
                if http_get(self.port, "/healthz/live")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise BenchError("nginx (proxy_cache) did not answer within 15 s")

    def __exit__(self, *exc_info):
        if self.proc:
            PROCESSES.stop(self.proc)

    def statuses(self) -> collections.Counter:
        """$upstream_cache_status of every request logged so far (HIT, MISS, EXPIRED, ...)."""
        time.sleep(1.2)  # the log's buffer is written out every second
        log_path = self.folder / "cache.log"
        lines = log_path.read_text().split() if log_path.exists() else []
        return collections.Counter(lines)


def load(ports: list[int], path: str, seconds: int, args, *, tag: str, pids: list[int], var: Path) -> Result:
    """wrk on each port at once (threads and connections shared out), as one Result: requests added
    up, each latency the worse of the runs; CPU per answer of `pids` and the processes under them."""
    share = argparse.Namespace(
        threads=max(1, args.threads // len(ports)), connections=max(1, args.connections // len(ports))
    )
    cpu_before, wrk_before = tree_cpu_seconds(pids), children_cpu_seconds()
    busy_before, total_before = machine_cpu()
    results: list[Result | None] = [None] * len(ports)
    failures: list[BaseException] = []

    def one(index: int, port: int) -> None:
        try:
            log_path = var / "logs" / f"wrk-{tag}-{index}.log"
            results[index] = wrk(f"http://{HOST}:{port}{path}", seconds, share, log_path, lua=LUA)
        except BaseException as exc:  # raised again in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(n, port)) for n, port in enumerate(ports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    busy_after, total_after = machine_cpu()
    served = tree_cpu_seconds(pids) - cpu_before
    sockets = collections.Counter()
    for result in results:
        sockets.update(result.socket_errors)
    combined = Result(
        requests=sum(r.requests for r in results),
        seconds=max(r.seconds for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p90_ms=max(r.p90_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=dict(sockets),
    )
    if combined.requests:
        combined.cpu_ms = served * 1000 / combined.requests
    if total_after > total_before:
        others = busy_after - busy_before - served - (children_cpu_seconds() - wrk_before)
        combined.others = max(0.0, others) / (total_after - total_before)
    return combined


def measure(who: str, ports: list[int], path: str, page: str, args, *, pids: list[int], var: Path) -> Result:
    """A warm-up, then one measured run; logged (loudly when any request failed)."""
    tag = re.sub(r"[^a-z0-9]+", "-", f"{who}-{page}".lower()).strip("-")
    if args.warmup:
        load(ports, path, args.warmup, args, tag=f"{tag}-warmup", pids=pids, var=var)
    result = load(ports, path, args.duration, args, tag=tag, pids=pids, var=var)
    line = (
        f"  {who:<36} {page:<8} {result.rps:9.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  CPU {result.cpu_ms or 0:6.3f} ms/req  "
        f"others {result.others or 0:4.0%}  "
        f"errors {result.error_text()}"
    )
    (warn if result.errors else log)(line)
    return result


def hit_rate(hits: int, misses: int) -> float | None:
    return hits / (hits + misses) if hits + misses else None


def pages_side_by_side(cluster: Cluster, pages: dict[str, str], args, *, var: Path) -> dict:
    """Every page through Varnish, nginx proxy_cache, app A, apps A and B, and nginx from disk. The
    three fast ones twice, in turns, keeping each one's best run: on a machine others share, the
    best is the run least disturbed by them, and one slow run of one of them would decide the ratio."""
    proxy_pid, app_pids = listener(cluster.proxy), [listener(port) for port in cluster.apps]
    if proxy_pid is None or None in app_pids:
        raise BenchError(
            f"no process listens on the proxy's or an app server's port: {proxy_pid}, {app_pids}"
        )
    results: dict[str, dict[str, Result]] = collections.defaultdict(dict)
    tries: dict[str, dict[str, list[Result]]] = collections.defaultdict(dict)
    hits: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    bodies = {}
    for page, path in pages.items():
        status, _, body = http_get(cluster.proxy, path)
        if status != 200:
            raise BenchError(f"{page} ({path}) answered {status} through the proxy")
        bodies[page] = body
    names = ("MAIN.cache_hit", "MAIN.cache_miss", "MAIN.cache_hitpass", "MAIN.s_pass")

    def through_varnish(page: str, path: str) -> Result:
        before = varnish_counters(*names)
        result = measure("Varnish", [cluster.proxy], path, page, args, pids=[proxy_pid], var=var)
        after = varnish_counters(*names)
        if before and after:
            delta = {name: after.get(name, 0) - before.get(name, 0) for name in names}
            passed = delta["MAIN.cache_hitpass"] + delta["MAIN.s_pass"]
            hits["Varnish"].update(
                {"hit": delta["MAIN.cache_hit"], "miss": delta["MAIN.cache_miss"] + passed}
            )
        return result

    def through_nginx_cache(cache: NginxCache, page: str, path: str) -> Result:
        seen = cache.statuses()
        result = measure("nginx proxy_cache", [cache.port], path, page, args, pids=[cache.proc.pid], var=var)
        now = cache.statuses() - seen
        hits["nginx proxy_cache"].update({"hit": now["HIT"], "miss": sum(now.values()) - now["HIT"]})
        return result

    with NginxCache(cluster.apps, workers=args.nginx_workers, var=var) as cache:
        for page, path in pages.items():
            log(f"{page}: {path}")
            for _ in range(2):  # stored first: waiters on nginx's cache lock are woken every 0.5 s
                http_get(cache.port, path)
            disk = var / f"disk-{page}"
            (disk / "logs").mkdir(parents=True, exist_ok=True)
            runs = collections.defaultdict(list)
            with Nginx(bodies[page], workers=args.nginx_workers, var=disk) as nginx:
                for turn in (1, 2):
                    runs["Varnish"].append(through_varnish(page, path))
                    runs["nginx from disk"].append(
                        measure(
                            "nginx from disk", [nginx.port], "/", page, args, pids=[nginx.proc.pid], var=var
                        )
                    )
                    runs["nginx proxy_cache"].append(through_nginx_cache(cache, page, path))
                    if turn == 1:
                        results["app A"][page] = measure(
                            "app A", cluster.apps[:1], path, page, args, pids=app_pids[:1], var=var
                        )
                        results["apps A+B"][page] = measure(
                            "apps A+B", cluster.apps, path, page, args, pids=app_pids, var=var
                        )
            for who, found in runs.items():
                results[who][page] = max(found, key=lambda result: result.rps)
                tries[who][page] = found
    rates = {who: hit_rate(counts["hit"], counts["miss"]) for who, counts in hits.items()}
    return {
        "results": dict(results),
        "tries": dict(tries),
        "hit_rates": rates,
        "bytes": {page: len(body) for page, body in bodies.items()},
    }
