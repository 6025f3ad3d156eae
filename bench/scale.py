"""Queries, plans and render times of the public pages at 100 and at 1,000,000 stories (issue 5, point 3).

    make bench-scale                                   # 100 and 1,000,000 stories
    .venv/bin/python bench/scale.py --articles 200000 --compare 100
    .venv/bin/python bench/scale.py --articles 100 --compare 0      # one size only

On PostgreSQL with Redis (started by scripts/services.sh, as bench/run.py does; both are shared
services and left running), each size gets a database of its own, `newsapp_scale_<N>`, holding N
published stories: the demo newsroom (`seed_demo`), then the rest generated in SQL, one
INSERT ... SELECT from generate_series per table (stories copying the demo stories' texts, pictures
and renditions under new titles and slugs, spread over ten years and over the sections; one to three
citations each; a bias rating for three in four; the search vector written as articles/search.py
writes it). The non-unique indexes of those tables are dropped during the load and rebuilt from
their own definitions afterwards, in the same transaction; the INSERTs run with
session_replication_role = replica (no foreign-key trigger, and no row lock of the cited story, per
inserted row) and the foreign keys are then checked in bulk, one anti-join per key; then VACUUM
ANALYZE. About 4.5 minutes and 6 GB for a million stories on 2 cores. A database already holding its
N stories (and this script's mark of a finished load, var/scale/) is reused.

Each page (home, a section's first, 25th and a deep cursor page, an article, an outlet's first and
deep cursor page, the RSS feed, the sitemap index, the story sitemaps of this month and of the
oldest month, the news sitemap) is then asked for in-process through Django's test client with
production settings (DEBUG off, HTTPS through the proxy header, collected static files, page cache
off):

- the SQL queries of a render from scratch (Redis flushed, fragment cache off: the cards, the
  section counts and the related stories all computed anew) and of a warm render (fragments on,
  the second answer), and the median time of a warm render;
- EXPLAIN (FORMAT JSON) of every SELECT of both: a sequential scan of an articles_* table is
  reported (an error when the table holds more than BIG_TABLE rows);
- EXPLAIN (ANALYZE, BUFFERS) of every SELECT: the slowest query of each page, and the rows its
  queries read (what grows when a query is not bounded).

It prints a table of both sizes and writes it, with the machine's description, into
docs/performance.md between the markers of the "At a million stories" section.

Exit status: 0; 1 when the query counts differ between the sizes or a big table is scanned; 2 when
it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report as doc  # noqa: E402
from bench.lib import services  # noqa: E402
from bench.lib.processes import CLOCK, PYTHON, BenchError, log, run, warn  # noqa: E402
from bench.scale_database import VAR, app_env, db_name, prepare_database  # noqa: E402
from bench.scale_probe import probe  # noqa: E402
from bench.scale_report import SECTION_TITLE, findings, render  # noqa: E402

REDIS_DB = 4


def measure(found: dict[str, str], articles: int) -> dict:
    """The pages at this size, measured by this script run again with --probe in the size's environment."""
    services.flush_redis(found["CACHE_URL"])
    env = app_env(found, articles)
    log(f"measuring the pages at {articles:,} stories (in-process, production settings)")
    result = run([PYTHON, str(Path(__file__).resolve()), "--probe"], env=env)
    data = json.loads(result.stdout)
    services.flush_redis(found["CACHE_URL"])
    return data


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--articles", type=int, default=1_000_000, metavar="N", help="published stories (default 1000000)"
    )
    parser.add_argument(
        "--compare",
        type=int,
        default=100,
        metavar="M",
        help="also measure at M published stories and compare (default 100; 0: only N)",
    )
    parser.add_argument("--fresh", action="store_true", help="make the databases anew even if reusable")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.probe and (args.articles < 1 or args.compare < 0):
        parser.error("--articles must be at least 1 and --compare 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe:
        json.dump(probe(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    if os.geteuid() != 0:
        print(
            "bench/scale.py: run as root (it starts PostgreSQL and Redis and runs psql as postgres)",
            file=sys.stderr,
        )
        return 2
    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / "logs").mkdir(parents=True, exist_ok=True)
    sizes = sorted({args.articles, *([args.compare] if args.compare else [])})
    try:
        found = services.start(database=db_name(sizes[0]), redis_db=REDIS_DB)
        loads = {n: prepare_database(found, args, n) for n in sizes}
        log("collecting static files (whitenoise, compressed and hashed)")
        services.manage(app_env(found, sizes[0]), "collectstatic", "--noinput", "-v0", var=VAR)
        results = {n: measure(found, n) for n in sizes}
    except BenchError as exc:
        warn(f"bench/scale.py failed: {exc}")
        return 2
    except KeyboardInterrupt:
        warn("interrupted")
        return 2
    errors, notes = findings(results)
    markdown = render(results, loads, errors, notes)
    print("\n" + markdown)
    if not args.no_docs:
        doc.write_section(markdown, marker="scale", heading=SECTION_TITLE)
        log(f"wrote {doc.DOC.relative_to(ROOT)}")
    for item in errors:
        warn(f"FINDING: {item['headline']}")
    log(f"done in {CLOCK.elapsed:.0f} s: {len(errors)} error(s), {len(notes)} note(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
