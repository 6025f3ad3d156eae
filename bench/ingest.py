"""The newsdesk's ingestion: `make bench-ingest` (or `.venv/bin/python bench/ingest.py --help`).

On PostgreSQL (started by scripts/services.sh, as `make bench` does; a shared service, left running),
in databases of its own made anew each run (`newsapp_bench_ingest`, copied from a migrated template,
and `newsapp_bench_grouping`), with production settings (bench/lib/services.app_env), it measures:

1. end to end: 50 outlets served on loopback (newsdesk/demo/feed_server.py, one server per outlet)
   with 40 items each and their article pages, made from the labelled corpus in variants
   (bench/ingest_corpus.py); the outlets and feeds added through the import format, which queues
   each feed's first fetch; then W real `manage.py db_worker` processes, timed from their start
   until every feed has been fetched and no due task is left (bench/ingest_workers.py): pieces per
   second (fetch, extract, fingerprint, group, summarise), candidates made, each worker's CPU time
   and peak memory (VmHWM). --workers names the Ws (the first is the headline); --profile runs
   once more with the first worker under cProfile and reports where its time went;
2. the cost of grouping one piece at 10,000 and at 100,000 stored pieces (bench/ingest_grouping.py).

It prints the figures and writes them between the markers of the "Newsdesk ingestion" section of
docs/performance.md. Targets (issue 12, point 10): >= 20 pieces/s on this 2-core machine, a worker
under 300 MB, grouping at 100,000 within 2x of 10,000.

Exit status: 0; 3 with --require-targets when a target is missed; 2 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report as doc  # noqa: E402
from bench.ingest_corpus import events_count, variants_needed  # noqa: E402
from bench.ingest_outlets import Outlets  # noqa: E402
from bench.ingest_report import SECTION_TITLE, profile_breakdown, render, targets  # noqa: E402
from bench.ingest_workers import POLL_SECONDS, database_fresh, ingest_env, run_once, template_prepare  # noqa: E402
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
from newsdesk.demo import corpus  # noqa: E402

VAR = ROOT / "var" / "bench-ingest"
REDIS_DB = 6
GROUPING_DB = "newsapp_bench_grouping"
# The fetcher's politeness, as the settings give it in the benchmark's environment (the defaults).
POLITENESS = (
    "from django.conf import settings as s; "
    "print(s.NEWSAPP_FETCH_HOST_INTERVAL, s.NEWSAPP_FETCH_HOST_CONCURRENCY, s.NEWSAPP_FETCH_ALLOW_PRIVATE)"
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers",
        default="16",
        metavar="LIST",
        help="db_worker processes, comma-separated runs, e.g. 16,8,4 (default 16; the first is the headline)",
    )
    parser.add_argument("--outlets", type=int, default=50, help="outlets, one server and feed each (50)")
    parser.add_argument("--items", type=int, default=2000, help="items in all, round-robin over the outlets")
    parser.add_argument("--fill", type=int, default=10_000, help="pieces grouped one by one (10000)")
    parser.add_argument("--grow", type=int, default=100_000, help="...then grown to this many in SQL")
    parser.add_argument("--sample", type=int, default=200, help="new pieces timed at each size (200)")
    parser.add_argument("--no-grouping", action="store_true", help="skip the grouping at 10,000 / 100,000")
    parser.add_argument(
        "--profile", action="store_true", help="one more run, its first worker under cProfile"
    )
    parser.add_argument(
        "--unthrottled",
        action="store_true",
        help="one more run with NEWSAPP_FETCH_HOST_INTERVAL=0: the rate with no politeness wait",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--require-targets", action="store_true", help="exit 3 when a target is missed")
    parser.add_argument("--run-limit", type=int, default=1500, metavar="S", help="give up on a run after S s")
    parser.add_argument(
        "--time-limit", type=int, default=3600, metavar="S", help="stop everything after S seconds (3600)"
    )
    args = parser.parse_args(argv)
    try:
        args.workers = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.error("--workers: whole numbers separated by commas, e.g. 4,8")
    if not args.workers or min(args.workers) < 1:
        parser.error("--workers: at least one run of at least one worker")
    if args.outlets < 1 or args.items < args.outlets or args.items % args.outlets:
        parser.error("--items must be a multiple of --outlets (each outlet the same number of items)")
    if args.fill < 1 or args.grow % args.fill or args.grow <= args.fill or args.sample < 1:
        parser.error("--grow must be a multiple of --fill, and larger; --sample at least 1")
    return args


def grouping(found: dict[str, str], args) -> dict:
    """bench/ingest_grouping.py in a fresh database of its own."""
    database_fresh(GROUPING_DB)
    env = services.app_env(found, var=VAR) | {
        "DATABASE_URL": services.database_url(found["DATABASE_URL"], GROUPING_DB)
    }
    argv = [PYTHON, str(ROOT / "bench" / "ingest_grouping.py"), "--fill", str(args.fill)]
    argv += ["--grow", str(args.grow), "--sample", str(args.sample)]
    log(f"grouping: {args.fill:,} pieces one by one, then {args.grow:,} (bench/ingest_grouping.py)")
    with open(VAR / "logs" / "grouping.log", "ab") as progress:
        done = subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=progress, check=False)
    if done.returncode:
        raise BenchError(
            f"bench/ingest_grouping.py failed ({done.returncode}); see {VAR / 'logs' / 'grouping.log'}"
        )
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def findings(report: dict) -> list[str]:
    """What limits the end-to-end rate, computed from the figures."""
    out = []
    per_feed = report["items"] // report["outlets"]
    interval = float(report["host_interval"])
    # A feed's fetch_feed reads the feed, robots.txt, then each page, one after another at one host.
    floor = (per_feed + 2) * interval
    main = report["main"]
    bound = main["workers"] * per_feed / floor
    out.append(
        f"fetch_feed reads an outlet's pages one after another, and the fetcher starts requests to one "
        f"host at least NEWSAPP_FETCH_HOST_INTERVAL = {interval:g} s apart: a feed of {per_feed} items costs "
        f"at least ({per_feed} pages + feed + robots.txt) x {interval:g} s = {floor:.1f} s of waiting "
        f"whatever the CPU, so one worker stores at most {per_feed / floor:.2f} pieces/s and "
        f"{main['workers']} workers "
        f"at most {bound:.1f} pieces/s (measured {main['rate']:.1f})."
    )
    cpu = sum(w["cpu_seconds"] for w in main["per_worker"]) / max(main["pieces"], 1)
    if cpu:
        cores = len(os.sched_getaffinity(0))
        out.append(
            f"The workers' own CPU per piece is {cpu * 1000:.0f} ms: {cores} cores kept busy by workers "
            f"alone would store about {cores / cpu:.0f} pieces/s; the machine was "
            f"{main['machine_busy'] * 100:.0f}% busy "
            "during the run."
        )
    unthrottled = [run for run in report["runs"] if run["label"].startswith("NEWSAPP_FETCH_HOST_INTERVAL=0")]
    if unthrottled:
        free = unthrottled[0]
        out.append(
            f"With no interval between requests to a host (NEWSAPP_FETCH_HOST_INTERVAL=0, a diagnosis, not a "
            f"setting to use), {free['workers']} workers store {free['rate']:.1f} pieces/s, the machine "
            f"{free['machine_busy'] * 100:.0f}% busy: what the rest of the pipeline (extraction, grouping, "
            "summaries, the database) allows on these cores."
        )
    profile = report.get("profile")
    if profile:
        rows = {label: seconds for label, seconds, _ in profile["rows"]}
        whole = rows["the whole of fetch_feed (all its feeds)"] or 1
        shares = ", ".join(
            f"{label.split(' (')[0]} {rows[label] / whole * 100:.0f}%"
            for label in rows
            if label != "the whole of fetch_feed (all its feeds)" and rows[label] / whole >= 0.02
        )
        out.append(f"In the profiled worker, shares of fetch_feed's time: {shares}.")
    return out


def benchmark(args) -> dict:
    report = {
        "date": doc.now(),
        "command": doc.command(target="bench-ingest", variable="INGEST_ARGS", script="bench/ingest.py"),
        "load_before": machine.load_average(),
        "outlets": args.outlets,
        "items": args.items,
        "corpus_pieces": len(corpus.pieces()),
        "corpus_events": len({p["event"] for p in corpus.pieces()}),
        "variants": variants_needed(args.items),
        "events": events_count(args.items),
        "poll_seconds": POLL_SECONDS,
    }
    for folder in ("logs", "run", "static", "media"):
        (VAR / folder).mkdir(parents=True, exist_ok=True)
    for old in (VAR / "logs").glob("*.log"):
        old.unlink()
    found = services.start(database="newsapp_bench_ingest", redis_db=REDIS_DB)
    signal.alarm(args.time_limit)
    env = ingest_env(found, var=VAR)
    interval, concurrency, private = (
        run([PYTHON, "manage.py", "shell", "-c", POLITENESS], env=env).stdout.splitlines()[-1].split()
    )
    if private != "True":
        raise BenchError("NEWSAPP_FETCH_ALLOW_PRIVATE is not on in the workers' environment")
    report["host_interval"], report["host_concurrency"] = interval, concurrency
    report["postgres"] = services.psql("SHOW server_version").split()[0]
    template_prepare(env, var=VAR)
    if not args.no_grouping:
        report["grouping"] = grouping(found, args)
    runs = []
    with Outlets(items=args.items, outlets=args.outlets) as outlets:
        log(f"{args.outlets} outlet servers on loopback, {args.items:,} items with their pages")
        for workers in args.workers:
            runs.append(run_once(env, outlets, workers=workers, var=VAR, time_limit=args.run_limit))
        if args.profile:
            path = VAR / "run" / "worker.prof"  # kept for a closer look (pstats)
            path.unlink(missing_ok=True)
            profiled = run_once(
                env, outlets, workers=args.workers[0], var=VAR, time_limit=args.run_limit, profile=path
            )
            runs.append(profiled)
            report["profile"] = {
                "workers": args.workers[0],
                "wall": profiled["seconds"],
                "rows": profile_breakdown(path),
            }
            run([PYTHON, "-c", f"import pstats; pstats.Stats({str(path)!r}).sort_stats('cumulative')"
                 ".print_stats(45)"], log_path=VAR / "logs" / "profile.txt")  # fmt: skip
        if args.unthrottled:
            runs.append(
                run_once(
                    env | {"NEWSAPP_FETCH_HOST_INTERVAL": "0"},
                    outlets,
                    workers=args.workers[0],
                    var=VAR,
                    time_limit=args.run_limit,
                    label="NEWSAPP_FETCH_HOST_INTERVAL=0",
                )
            )
    report["runs"] = runs
    report["main"] = runs[0]
    report["machine"] = machine.describe()
    report["load_after"] = machine.load_average()
    report["targets"] = targets(report)
    report["elapsed"] = CLOCK.elapsed
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench-ingest: run as root (it starts PostgreSQL and runs psql as postgres)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGALRM, over_time)
    report = None
    try:
        report = benchmark(args)
    except BenchError as exc:
        warn(f"bench-ingest failed: {exc}")
    except TimeLimit:
        warn(f"bench-ingest stopped: it ran longer than --time-limit {args.time_limit} s")
    except KeyboardInterrupt:
        warn("bench-ingest interrupted")
    finally:
        signal.alarm(0)
        PROCESSES.stop_all()
        if left := PROCESSES.leftovers():
            warn(f"processes still running after clean-up: {left}")
    if report is None:
        return 2
    markdown = render(report, args, findings=findings(report))
    print("\n" + markdown)
    if not args.no_docs:
        doc.write_section(markdown, marker="ingest", heading=SECTION_TITLE)
        log(f"wrote {doc.DOC.relative_to(ROOT)}")
    if args.require_targets and not all(ok for _, _, ok in report["targets"]):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
