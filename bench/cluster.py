"""The cluster's benchmark: `make bench-cluster` (or `.venv/bin/python bench/cluster.py --help`).

With the cluster of `make cluster` up (started by this script when it is not, and then stopped at
the end; a cluster already up is left running), in one run, with Debian's `wrk` on loopback:

1. the front page, a section and an article through the proxy (Varnish: hits), through app server A
   directly and through both at once (the app's own page cache: hits), through nginx's proxy_cache
   in front of the same two app servers (a config of this script's own), and from nginx serving
   the same bytes from disk (the machine's limit): requests a second, p50 / p99, CPU per answer,
   the ratio Varnish / nginx from disk (target >= 0.5) and each proxy's hit rate;
2. the cost of a purge: a PURGE's round trip; from a publish's commit (through the ORM, in the
   cluster's environment) to its purge answered and to the front page showing it through the proxy;
   the dip in requests a second and the extra backend fetches when `site` and one story are purged
   under load (bench/cluster_purge.py);
3. the replica's lag under a write burst (bench/cluster_lag.py);
4. uncached pages with and without PgBouncer (bench/cluster_pool.py).

It prints the results and writes them between the cluster markers of docs/performance.md. Every
process it starts is stopped at the end, also on an error, Ctrl-C, SIGTERM or --time-limit.
Exit status: 0 when every measured request got a 2xx answer; 1 when not (unless --allow-errors);
2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import cluster_report  # noqa: E402
from bench import report as doc  # noqa: E402
from bench.cluster_lag import write_burst  # noqa: E402
from bench.cluster_pages import pages_side_by_side  # noqa: E402
from bench.cluster_pool import pooling  # noqa: E402
from bench.cluster_purge import WRITER, publish_rounds, round_trips, summarize_rounds, under_load  # noqa: E402
from bench.cluster_setup import ensure_up, stop  # noqa: E402
from bench.lib import machine, services  # noqa: E402
from bench.lib.processes import (  # noqa: E402
    CLOCK,
    PROCESSES,
    PYTHON,
    BenchError,
    TimeLimit,
    log,
    over_time,
    run,
    stop_on_signal,
    warn,
)

VAR = ROOT / "var" / "bench-cluster"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults take about 6 minutes on 2 cores, plus `make cluster` when the cluster is not up.",
    )  # fmt: skip
    parser.add_argument("--duration", type=int, default=5, metavar="S", help="seconds of each wrk run (5)")
    parser.add_argument(
        "--warmup", type=int, default=1, metavar="S", help="seconds of warm-up before each (1)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--nginx-workers", type=int, default=2, help="nginx worker processes (2)")
    parser.add_argument(
        "--clients", type=int, default=3, help="client processes while purging under load (3)"
    )
    parser.add_argument("--rounds", type=int, default=10, help="publishes (and unpublishes) timed (10)")
    parser.add_argument("--saves", type=int, default=2000, help="story saves in the write burst (2000)")
    parser.add_argument("--imported", type=int, default=20000, help="drafts imported after them (20000)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 2 s per run, no warm-up, 3 rounds, 300 saves, 2000 imported, docs left alone",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--allow-errors", action="store_true", help="exit 0 even if some requests failed")
    parser.add_argument(
        "--time-limit", type=int, default=1200, metavar="S", help="stop everything after S seconds (1200)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds, args.saves, args.imported = 2, 0, 3, 300, 2000
        args.no_docs = True
    if min(args.duration, args.rounds, args.saves, args.imported, args.clients) < 1 or args.warmup < 0:
        parser.error("--duration, --rounds, --saves, --imported and --clients at least 1, --warmup 0 or more")
    return args


def benchmark(args, report: dict) -> None:
    for folder in ("logs",):
        (VAR / folder).mkdir(parents=True, exist_ok=True)
    for old in (VAR / "logs").glob("wrk-*.log"):
        old.unlink()
    services.ensure_tools("wrk", "nginx", var=VAR)
    cluster, report["started_cluster"] = ensure_up(log_path=VAR / "logs" / "cluster.log")
    signal.alarm(args.time_limit)
    state = json.loads(run([PYTHON, str(WRITER), "state"], env=cluster.process_env()).stdout.splitlines()[-1])
    pages = {"home": state["home"], "section": state["section"], "article": state["article"]}
    report["pages"] = pages
    serving = cluster.processes()
    log(f"pages side by side: Varnish, nginx proxy_cache, app A, apps A+B, nginx from disk: {pages}")
    report["side"] = pages_side_by_side(cluster, pages, args, var=VAR)
    cluster.check_unchanged(serving, "the pages' runs")
    log("the cost of a purge: round trips")
    purge = {"round_trips": round_trips(cluster, state, count=30)}
    log(f"the cost of a purge: {args.rounds} publishes and unpublishes through the ORM, timed from commits")
    purge["rounds"] = publish_rounds(cluster, rounds=args.rounds, var=VAR)
    purge["publish"] = summarize_rounds(purge["rounds"])
    log("the cost of a purge: `site` and one story purged under load")
    purge["under_load"] = under_load(cluster, state, args, var=VAR)
    report["purge"] = purge
    cluster.check_unchanged(serving, "the purges")
    log("replica lag under a write burst")
    report["lag"] = write_burst(cluster, saves=args.saves, imported=args.imported, var=VAR)
    primary, replica = cluster.database_url("primary"), cluster.database_url("replica")
    report["pool"] = pooling(cluster, pages, args, primary=primary, replica=replica, var=VAR)
    cluster.check_unchanged(serving, "the run")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print(
            "bench-cluster: run as root (make cluster starts PostgreSQL; PgBouncer runs as postgres)",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    signal.signal(signal.SIGALRM, over_time)
    command = doc.command(
        target="bench-cluster", variable="CLUSTER_BENCH_ARGS", script="bench/cluster.py", argv=argv
    )
    report = {
        "date": doc.now(),
        "command": command,
        "args": args,
        "load_before": machine.load_average(),
        "started_cluster": False,
    }
    ok = False
    try:
        benchmark(args, report)
        ok = True
    except BenchError as exc:
        warn(f"bench-cluster failed: {exc}")
    except TimeLimit:
        warn(f"bench-cluster stopped: it ran longer than --time-limit {args.time_limit} s")
    except KeyboardInterrupt:
        warn("bench-cluster interrupted")
    finally:
        signal.alarm(0)
        PROCESSES.stop_all()
        left = PROCESSES.leftovers()
        log(f"processes left running: {left}" if left else "stopped every process the benchmark started")
        if report["started_cluster"]:
            stop(log_path=VAR / "logs" / "cluster.log")
    if not ok:
        return 2
    report["machine"] = machine.describe()
    report["load_after"] = machine.load_average()
    report["elapsed"] = CLOCK.elapsed
    markdown = cluster_report.render(report)
    print("\n" + markdown)
    if not args.no_docs:
        doc.write_section(markdown, marker="cluster", heading="## The cluster: proxy, app servers, replica")
        log(f"wrote {doc.DOC.relative_to(ROOT)}")
    runs = [r for setup in report["side"]["results"].values() for r in setup.values()]
    runs += [r for setup in report["side"]["tries"].values() for found in setup.values() for r in found]
    runs += [r for setup in report["pool"]["results"].values() for r in setup.values()]
    failed = sum(1 for r in runs if r.errors)
    if failed and not args.allow_errors:
        warn(f"FAILED: requests failed in {failed} run(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
