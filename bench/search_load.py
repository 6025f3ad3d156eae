"""Search at scale and under load: `make bench-search` (or `.venv/bin/python bench/search_load.py --help`).

On PostgreSQL with Redis (started by scripts/services.sh, as `make bench` does; shared services, left
running), in a database of its own per size, `newsapp_search_<N>`: the demo newsroom, then `seed_demo
--articles N` (100,000 by default), then VACUUM ANALYZE. It is reused while the seed inputs are
unchanged (`--fresh` seeds it anew). With production settings (bench/lib/services.py) it measures:

1. latency, one search at a time and uncached: bench/search_timing.py (the whole view in-process,
   results cache off) over broad words, rare words and queries of several words and operators;
2. requests per second under wrk (`-t2 -c32`) against granian (2 workers x 4 blocking threads, the
   production default): one query asked again and again with the results cache on (the first answer
   is kept, every later one is a hit: what a crowd searching one breaking story costs), the same query
   with the cache off (each request searches), and every query of the first part in turns, cache off.

It prints the figures and writes them, with the machine's description, between the markers of the
"Search at 100,000 stories" section of docs/performance.md. Targets (issue 10, point 8): p50 < 30 ms
and p99 < 150 ms for each kind of query; at least 300 req/s for the repeated query.

Exit status: 0; 1 when a request under wrk failed; 3 with --require-targets when a target is missed;
2 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report as doc  # noqa: E402
from bench.lib import database, machine, services  # noqa: E402
from bench.lib.processes import (  # noqa: E402
    PROCESSES,
    PYTHON,
    BenchError,
    TimeLimit,
    http_get,
    log,
    over_time,
    run,
    stop_on_signal,
    warn,
)
from bench.lib.servers import RunningServer, Server  # noqa: E402
from bench.lib.wrk import Result, check_pages, measure  # noqa: E402
from bench.search_timing import QUERIES  # noqa: E402

DB_PREFIX = "newsapp_search_"
REDIS_DB = 5
VAR = ROOT / "var" / "bench-search"
MIX_LUA = Path(__file__).resolve().parent / "search_mix.lua"
SECTION_TITLE = "## Search at 100,000 stories"
SERVER = "granian:2x4"
REPEATED = "harbour"  # a broad word: 20,000 matches at 100,000 stories
# Issue 10, point 8.
P50_MS, P99_MS, REPEATED_MIN_RPS = 30.0, 150.0, 300.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000, metavar="N", help="generated stories")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per query, one at a time")
    parser.add_argument("--duration", type=int, default=7, metavar="S", help="seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=1, metavar="S", help="seconds of wrk warm-up")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--fresh", action="store_true", help="drop and seed the database even if reusable")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--require-targets", action="store_true", help="exit 3 when a target is missed")
    parser.add_argument(
        "--time-limit", type=int, default=1800, metavar="S", help="stop everything after S seconds (1800)"
    )
    args = parser.parse_args(argv)
    if args.articles < 0 or args.runs < 1 or args.duration < 1 or args.warmup < 0:
        parser.error("--articles 0 or more, --runs and --duration at least 1, --warmup 0 or more")
    return args


def prepare_database(env: dict, args) -> tuple[dict, str]:
    """The database, holding the demo plus N generated stories: reused when already so seeded."""
    name = f"{DB_PREFIX}{args.articles}"
    return database.prepare(
        env,
        var=VAR,
        database=name,
        articles=args.articles,
        fresh=args.fresh,
        marker=VAR / f"{name}.json",
        batch_size=5000,
    )


def latency(env: dict, args) -> dict:
    log(f"latency: {sum(map(len, QUERIES.values()))} queries x {args.runs}, one at a time, uncached")
    argv = [PYTHON, str(ROOT / "bench" / "search_timing.py"), "--json", "--runs", str(args.runs)]
    load_before = machine.load_average()
    result = run(argv, env=env)
    # The last line is the report (a library may print a banner first).
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report | {"load": f"{load_before} before, {machine.load_average()} after"}


def search_path(query: str) -> str:
    return "/search/?" + urllib.parse.urlencode({"q": query})


def throughput(env: dict, args) -> dict[str, Result]:
    server = Server.parse(SERVER)
    path = search_path(REPEATED)
    results = {}
    with RunningServer(server, env, cache_seconds=600, var=VAR) as running:
        running.wait()
        check_pages(running.port, {"search": path})
        _, headers, _ = http_get(running.port, path)
        kept = {name.lower(): value for name, value in headers.items()}.get("x-search-cache")
        if kept != "hit":
            raise BenchError(f"{path} was not kept: X-Search-Cache {kept}")
        log(f"wrk: {path} again and again, results cache on")
        results["repeated, cache on"] = measure(
            running.url(path),
            server.name,
            "cache-on",
            "search-repeated",
            args,
            pgid=running.proc.pid,
            var=VAR,
        )
    with RunningServer(server, env, cache_seconds=0, var=VAR) as running:
        running.wait()
        check_pages(running.port, {"search": path})
        log(f"wrk: {path} again and again, cache off (each request searches)")
        results["repeated, cache off"] = measure(
            running.url(path),
            server.name,
            "cache-off",
            "search-repeated",
            args,
            pgid=running.proc.pid,
            var=VAR,
        )
        paths = [search_path(query) for queries in QUERIES.values() for query in queries]
        listed = VAR / "run" / "paths.txt"
        listed.write_text("\n".join(paths) + "\n")
        os.environ["SEARCH_PATHS"] = str(listed)  # read by search_mix.lua in the wrk process
        log(f"wrk: {len(paths)} queries in turns, cache off")
        results["every query in turns, cache off"] = measure(
            running.url("/search/"),
            server.name,
            "cache-off",
            "search-mix",
            args,
            pgid=running.proc.pid,
            var=VAR,
            lua=MIX_LUA,  # the same report line, after requests that take turns
        )
    return results


def targets(timing: dict, load: dict[str, Result]) -> list[tuple[str, str, bool]]:
    checks = []
    for kind in QUERIES:
        figures = timing["kinds"][kind]
        checks.append((
            f"{kind} queries: p50 < {P50_MS:.0f} ms, p99 < {P99_MS:.0f} ms (one at a time, uncached)",
            f"p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms",
            figures["p50"] < P50_MS and figures["p99"] < P99_MS,
        ))  # fmt: skip
    repeated = load["repeated, cache on"]
    checks.append((
        f"a repeated query under wrk: ≥ {REPEATED_MIN_RPS:.0f} req/s",
        f"{repeated.rps:,.0f} req/s",
        repeated.rps >= REPEATED_MIN_RPS,
    ))  # fmt: skip
    bad = [f"{name}: {result.error_text()}" for name, result in load.items() if result.errors]
    checks.append(("no failed request under wrk", "; ".join(bad) or "none", not bad))
    return checks


def render(report: dict, args) -> str:
    timing, load, machine = report["timing"], report["load"], report["machine"]
    out = [
        f"Run on {report['date']} with `{report['command']}`: {report['articles']:,} stories "
        f"(database {report['seeding']}), {args.runs} timed requests per query, wrk "
        f"`-t{args.threads} -c{args.connections}` for {args.duration} s after {args.warmup} s of warm-up; "
        f"{report['elapsed']:.0f} s in all. {machine['CPU']}, {machine['RAM']} RAM, PostgreSQL "
        f"{report['postgres']}, Python {machine['Python']}, Django {machine['Django']}; load average "
        f"{report['load_before']} before, {report['load_after']} after (1, 5, 15 min).",
        "",
        f"One search at a time, uncached (the whole view in-process: the newest {timing['candidates']} "
        "matches ranked, the page's stories and headlines, the template); load average "
        f"{timing['load']} (wall-clock times rise with other work on the machine):",
        "",
    ]
    rows = []
    for kind in QUERIES:
        figures = timing["kinds"][kind]
        queries = [
            f"{query} ({entry['matches']}{'+' if entry['more'] else ''})"
            for query, entry in timing["queries"].items()
            if entry["kind"] == kind
        ]
        rows.append([kind, f"{figures['p50']:.1f} ms", f"{figures['p99']:.1f} ms", ", ".join(queries)])
    every = timing["kinds"]["all"]
    rows.append(["all", f"{every['p50']:.1f} ms", f"{every['p99']:.1f} ms", f"{every['n']} requests"])
    out.append(doc.table(["kind", "p50", "p99", "queries (matches)"], rows))
    server = Server.parse(SERVER).describe()
    out += ["", f"Under load: {server}, production settings, wrk on the same cores:", ""]
    rows = [
        [
            name,
            doc.rps(result),
            *map(doc.ms, (result.p50_ms, result.p99_ms, result.cpu_ms)),
            result.error_text(),
        ]
        for name, result in load.items()
    ]
    header = ["`/search/?q=…`", "req/s", "p50", "p99", "app server's CPU per answer", "errors"]
    out.append(doc.table(header, rows))
    out += ["", doc.targets_table(report["targets"])]
    return "\n".join(out) + "\n"


def benchmark(args) -> dict:
    started = time.monotonic()
    report = {
        "date": doc.now(),
        "command": doc.command(target="bench-search", variable="SEARCH_ARGS", script="bench/search_load.py"),
        "load_before": machine.load_average(),
    }
    for folder in ("logs", "run", "static", "media"):
        (VAR / folder).mkdir(parents=True, exist_ok=True)
    services.ensure_tools("wrk", var=VAR)
    found = services.start(database=f"{DB_PREFIX}{args.articles}", redis_db=REDIS_DB)
    env = services.app_env(found, var=VAR)
    signal.alarm(args.time_limit)
    services.flush_redis(env["CACHE_URL"])
    state, report["seeding"] = prepare_database(env, args)
    report["articles"] = state["articles"]
    report["postgres"] = state["database"].removeprefix("postgresql ")
    log("collecting static files")
    services.manage(env, "collectstatic", "--noinput", "-v0", var=VAR)
    services.flush_redis(env["CACHE_URL"])
    report["timing"] = latency(env, args)
    report["load"] = throughput(env, args)
    report["machine"] = machine.describe()
    report["load_after"] = machine.load_average()
    report["targets"] = targets(report["timing"], report["load"])
    report["elapsed"] = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench-search: run as root (it starts PostgreSQL and Redis, may install wrk)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGALRM, over_time)
    report = None
    try:
        report = benchmark(args)
    except (BenchError, subprocess.CalledProcessError) as exc:
        warn(f"bench-search failed: {exc}")
    except TimeLimit:
        warn(f"bench-search stopped: it ran longer than --time-limit {args.time_limit} s")
    except KeyboardInterrupt:
        warn("bench-search interrupted")
    finally:
        signal.alarm(0)
        PROCESSES.stop_all()
        if left := PROCESSES.leftovers():
            warn(f"processes still running after clean-up: {left}")
    if report is None:
        return 2
    markdown = render(report, args)
    print("\n" + markdown)
    if not args.no_docs:
        doc.write_section(markdown, marker="search", heading=SECTION_TITLE)
        log(f"wrote {doc.DOC.relative_to(ROOT)}")
    if any(result.errors for result in report["load"].values()):
        return 1
    if args.require_targets and not all(ok for _, _, ok in report["targets"]):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
