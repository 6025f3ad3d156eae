"""newsapp's benchmark: `make bench` (or `.venv/bin/python bench/run.py --help`).

On PostgreSQL with Redis (started by scripts/services.sh; both are shared services and left running),
it seeds a database of its own (`newsapp_bench`: the demo newsroom plus `seed_demo --articles N`),
runs the app the way production does (production settings, collected static files served by
whitenoise) and measures it with Debian's `wrk` over loopback:

1. every app server setup named by --servers (gunicorn sync, gunicorn gthread, granian, ...) on the
   cached pages (home, a section, an article) and on the 4-byte health check, with the page cache on:
   all of them run at once and are measured in turns, page by page, so that a change in the machine's
   load is shared out between them; in the home page's turn also nginx (Debian's package, a config of
   this script's own) serving a saved copy of the home page: the physical limit of this machine;
2. the fastest of them (the geometric mean of its cached pages' requests per second) on every page
   (home, section, article, search, feed, the coverage pages: methodology, outlet directory, an
   outlet, blindspots and their feed, balance; the API's stories, outlets and blindspots; health),
   cache on and cache off.

Each measured run also gives the app server's CPU time per answer (from /proc), which other work on a
shared machine changes much less than requests per second. Queries per page are counted in-process
(Django's test client). It prints the results and writes them, with the machine's description and
the targets of issue 5, between the markers in docs/performance.md. Every process it starts (app
servers, nginx, wrk) is stopped at the end, also on an error, Ctrl-C or SIGTERM; a hard time limit
(--time-limit, counted once missing packages are installed) stops a run that hangs.

Exit status: 0 when every request of every measured run got a 2xx answer; 1 when any did not
(or a socket error occurred), unless --allow-errors; 3 with --require-targets when a target is missed;
2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report as doc  # noqa: E402
from bench.lib import database, machine, services  # noqa: E402
from bench.lib.nginx import Nginx  # noqa: E402
from bench.lib.processes import (  # noqa: E402
    BIN,
    CLOCK,
    PROCESSES,
    BenchError,
    TimeLimit,
    http_get,
    log,
    over_time,
    stop_on_signal,
    warn,
)
from bench.lib.servers import RunningServer, Server  # noqa: E402
from bench.lib.wrk import Result, check_pages, measure  # noqa: E402
from bench.run_report import CACHED_PAGES, geomean, render, targets  # noqa: E402

VAR = ROOT / "var" / "bench"
DB_NAME = "newsapp_bench"
REDIS_DB = 3

# Pages measured: name -> path ("article" is filled in with a real published story, "outlet" with the
# page of the most cited outlet).
PAGES = {
    "home": "/",
    "section": "/world/",
    "article": None,
    "search": "/search/?q=harbour",
    "feed": "/feed/",
    "methodology": "/methodology/",
    "sources": "/sources/",
    "outlet": None,
    "blindspot": "/blindspot/",
    "blindspot-feed": "/blindspot/feed/",
    "balance": "/balance/",
    "api-stories": "/api/v1/stories/",
    "api-outlets": "/api/v1/outlets/",
    "api-blindspots": "/api/v1/blindspots/",
    "health": "/healthz/live",
}
# wrk is one client on loopback: the API's per-client rate limit (120/min by default) would answer
# nearly every request with a 429. Raised out of reach, the limit is still counted on every request
# (one Redis round trip), as it is in production.
API_RATE = "1000000/s"
DEFAULT_SERVERS = "gunicorn-sync:4,gunicorn-gthread:2x4,granian:2x4"


def measure_pages(running: RunningServer, pages: dict[str, str], mode: str, args) -> dict[str, Result]:
    check_pages(running.port, pages)
    return {
        name: measure(
            running.url(path), running.server.name, mode, name, args, pgid=running.proc.pid, var=VAR
        )
        for name, path in pages.items()
    }


def start_services() -> dict[str, str]:
    """PostgreSQL and Redis, with the benchmark's database and Redis database."""
    return services.start(database=DB_NAME, redis_db=REDIS_DB)


def prepare_database(env: dict, args) -> tuple[dict, str]:
    """The benchmark database, seeded with the demo plus N stories: reused when already so seeded."""
    return database.prepare(
        env,
        var=VAR,
        database=DB_NAME,
        articles=args.articles,
        fresh=args.fresh,
        marker=VAR / "seeded.json",
        media=VAR / "media",
    )


def count_queries(env: dict, pages: dict[str, str]) -> dict[str, dict]:
    """SQL queries per page, and in-process milliseconds: a full render (cache off), a cache hit (on)."""
    off = services.probe(env, "queries", *pages.values())
    on = services.probe(env | {"NEWSAPP_PAGE_CACHE_SECONDS": "600"}, "queries", *pages.values())
    counts = {}
    for name, path in pages.items():
        for mode, answer in (("off", off[path]["second"]), ("hit", on[path]["second"])):
            if answer["status"] != 200:
                raise BenchError(f"{name} ({path}) answered {answer['status']} in-process (cache {mode})")
        hit = on[path]["second"]
        counts[name] = {
            "render": off[path]["second"]["queries"],
            "hit": hit["queries"] if hit["page_cache"] == "hit" else None,
            "render_ms": off[path]["ms"],
            "hit_ms": on[path]["ms"],
        }
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults take about 6 minutes on 2 cores, 7 when the database is seeded first.",
    )  # fmt: skip
    parser.add_argument(
        "--articles",
        type=int,
        default=10_000,
        metavar="N",
        help="generated stories on top of the demo newsroom (default 10000)",
    )
    parser.add_argument(
        "--duration", type=int, default=7, metavar="S", help="seconds of each measured wrk run (default 7)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        metavar="S",
        help="seconds of wrk warm-up before each measured run, not counted (default 1; 0: none)",
    )
    parser.add_argument(
        "--servers",
        default=DEFAULT_SERVERS,
        metavar="LIST",
        help="app server setups compared on the cached pages, comma-separated: KIND[:WORKERS[xTHREADS]] "
        f"with KIND one of {', '.join(Server.KINDS)} (default {DEFAULT_SERVERS})",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--nginx-workers", type=int, default=2, help="nginx worker processes (default 2)")
    parser.add_argument(
        "--fresh", action="store_true", help="drop and seed the benchmark database even if reusable"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 2 s per measurement, no warm-up runs, docs/performance.md left alone",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--allow-errors", action="store_true", help="exit 0 even if some requests failed")
    parser.add_argument(
        "--require-targets", action="store_true", help="exit 3 when a target of issue 5 is missed"
    )
    parser.add_argument(
        "--time-limit",
        type=int,
        default=900,
        metavar="S",
        help="stop everything and fail after this many seconds, not counting the installation of "
        "missing packages (default 900: seeding on a busy machine took over 3 minutes)",
    )
    args = parser.parse_args(argv)
    servers = []
    for spec in args.servers.split(","):
        try:
            servers.append(Server.parse(spec))
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
    if not servers:
        parser.error("--servers: name at least one")
    args.servers = list(dict.fromkeys(servers))
    if args.quick:
        args.duration, args.warmup, args.no_docs = 2, 0, True
    if args.articles < 0 or args.duration < 1 or args.warmup < 0:
        parser.error("--articles must be 0 or more, --duration at least 1, --warmup 0 or more")
    return args


def benchmark(args) -> dict:
    report = {
        "date": doc.now(),
        "command": doc.command(target="bench", variable="BENCH_ARGS", script="bench/run.py"),
        "load_before": machine.load_average(),
    }
    for folder in ("logs", "run", "static", "media"):
        (VAR / folder).mkdir(parents=True, exist_ok=True)
    for old in (VAR / "logs").glob("*.log"):
        old.unlink()
    services.ensure_tools("wrk", "nginx", var=VAR)
    missing = [server.name for server in args.servers if not server.installed()]
    if missing:
        raise BenchError(
            f"not installed in {BIN}: {', '.join(missing)} (`make bench` installs the bench group)"
        )
    found = start_services()
    # The time limit counts from here: installing packages and PostgreSQL happens once per machine.
    report["setup_seconds"] = CLOCK.elapsed
    signal.alarm(args.time_limit)
    services.flush_redis(found["CACHE_URL"])
    env = services.app_env(found, var=VAR) | {"NEWSAPP_API_RATE": API_RATE}
    state, report["seeding"] = prepare_database(env, args)
    report["articles"] = state["articles"]
    report["postgres"] = state["database"].removeprefix("postgresql ")
    report["redis"] = services.redis_version(found["CACHE_URL"])
    log("collecting static files (whitenoise, compressed and hashed)")
    services.manage(env, "collectstatic", "--noinput", "-v0", var=VAR)
    if not state["article_url"] or not state["outlet_url"]:
        raise BenchError("the benchmark database holds no published story or no outlet")
    pages = dict(PAGES, article=state["article_url"], outlet=state["outlet_url"])
    report["pages"] = pages
    log("counting SQL queries per page (in-process, cache off and cache hit)")
    report["queries"] = count_queries(env, pages)
    services.flush_redis(found["CACHE_URL"])

    names = ", ".join(server.name for server in args.servers)
    log(f"app servers on the cached pages, all running, measured in turns: {names} (and nginx)")
    compared = {name: pages[name] for name in (*CACHED_PAGES, "health")}
    results: dict[Server, dict[str, Result]] = {server: {} for server in args.servers}
    runs = []
    with contextlib.ExitStack() as stack:
        running = {
            s: stack.enter_context(RunningServer(s, env, cache_seconds=600, var=VAR)) for s in args.servers
        }
        for server in running.values():
            server.wait()
            check_pages(server.port, compared)
        first = next(iter(running.values()))
        status, _, home_html = http_get(first.port, "/")
        if status != 200:
            raise BenchError(f"home page answered {status}")
        nginx = stack.enter_context(Nginx(home_html, workers=args.nginx_workers, var=VAR))
        # Page by page, each server in turn: a change in the machine's load spreads over all of them.
        for name, path in compared.items():
            for server, instance in running.items():
                results[server][name] = measure(
                    instance.url(path), server.name, "cache-on", name, args, pgid=instance.proc.pid, var=VAR
                )
                runs.append((f"{server.name} cache on {name}", results[server][name]))
            if name == "home":
                report["nginx"] = measure(
                    nginx.url, Nginx.NAME, "static", "home", args, pgid=nginx.proc.pid, var=VAR
                )
                runs.append(("nginx home", report["nginx"]))
        report["servers"] = results
        winner = max(results, key=lambda s: geomean([results[s][n].rps for n in CACHED_PAGES]))
        report["winner"] = winner
        log(f"fastest on the cached pages: {winner.name}; measuring every page with it, cache on and off")
        rest = {name: path for name, path in pages.items() if name not in compared}
        cache_on = results[winner] | measure_pages(running[winner], rest, "cache-on", args)
        runs += [(f"{winner.name} cache on {name}", cache_on[name]) for name in rest]
    with RunningServer(winner, env, cache_seconds=0, var=VAR) as instance:
        cache_off = measure_pages(instance.wait(), pages, "cache-off", args)
    runs += [(f"{winner.name} cache off {name}", result) for name, result in cache_off.items()]
    report["cache_on"] = {name: cache_on[name] for name in pages}
    report["cache_off"] = cache_off
    report["home_bytes"] = len(home_html)
    report["all_runs"] = runs
    report["machine"] = machine.describe()
    report["load_after"] = machine.load_average()
    report["targets"] = targets(report)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print(
            "bench: run as root (it starts PostgreSQL and Redis and may install packages with apt)",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    signal.signal(signal.SIGALRM, over_time)
    report = None
    try:
        report = benchmark(args)
        report["elapsed"] = CLOCK.elapsed
    except BenchError as exc:
        warn(f"bench failed: {exc}")
    except TimeLimit:
        warn(f"bench stopped: it ran longer than --time-limit {args.time_limit} s")
    except KeyboardInterrupt:
        warn("bench interrupted")
    finally:
        signal.alarm(0)
        PROCESSES.stop_all()
        left = PROCESSES.leftovers()
        if left:
            warn(f"processes still running after clean-up: {left}")
        else:
            groups = len(PROCESSES.groups)
            log(f"stopped every process the benchmark started ({groups} process groups, none left)")
    if report is None:
        return 2
    markdown = render(report, args)
    print("\n" + markdown)
    if not args.no_docs:
        doc.write_section(markdown, marker="bench", heading="## Results")
        log(f"wrote {doc.DOC.relative_to(ROOT)}")
    missed = [target for target, _, ok in report["targets"] if not ok]
    failed_runs = [label for label, result in report["all_runs"] if result.errors]
    met = len(report["targets"]) - len(missed)
    log(f"done in {CLOCK.elapsed:.0f} s; targets met: {met}/{len(report['targets'])}")
    if failed_runs and not args.allow_errors:
        warn(f"FAILED: requests failed in {len(failed_runs)} run(s): {', '.join(failed_runs)}")
        return 1
    if missed and args.require_targets:
        warn(f"targets missed: {'; '.join(missed)}")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
