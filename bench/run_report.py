"""What `make bench` (bench/run.py) judges and writes: issue 5's targets, met or not, and the Markdown
of its results (the machine, the pages, the app servers, nginx's physical limit, the targets)."""

from __future__ import annotations

import math

from bench.lib.servers import Server
from bench.lib.wrk import Result
from bench.report import ms, rps, table, targets_table

CACHED_PAGES = ("home", "section", "article")
NEVER_CACHED = ("health",)  # search results are kept too, briefly (articles/search_page.py)
# Issue 5's targets.
CACHED_SHARE_OF_HEALTH = 0.70
CACHED_P99_MS = 50.0
UNCACHED_MIN_RPS = {"home": 150, "section": 150, "article": 200}

# When anything but the server and wrk uses more than this share of the CPU on average during the
# runs on cached pages, other work shared the machine (Redis alone stays well below it).
BUSY_SHARE = 0.10


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(max(v, 1e-9)) for v in values) / len(values)) if values else 0.0


def targets(report: dict) -> list[tuple[str, str, bool]]:
    """Issue 5's targets: (what, measured, met)."""
    on, off, health = report["cache_on"], report["cache_off"], report["cache_on"]["health"]
    checks = []
    for name in CACHED_PAGES:
        share = on[name].rps / health.rps if health.rps else 0.0
        checks.append((
            f"cached {name}: ≥ {CACHED_SHARE_OF_HEALTH:.0%} of the health check's req/s, "
            f"p99 < {CACHED_P99_MS:.0f} ms",
            f"{on[name].rps:,.0f} req/s = {share:.0%} of {health.rps:,.0f}; p99 {ms(on[name].p99_ms)}",
            share >= CACHED_SHARE_OF_HEALTH and on[name].p99_ms < CACHED_P99_MS,
        ))  # fmt: skip
    for name, minimum in UNCACHED_MIN_RPS.items():
        checks.append(
            (f"uncached {name}: ≥ {minimum} req/s", f"{off[name].rps:,.0f} req/s", off[name].rps >= minimum)
        )
    runs = report["all_runs"]
    bad = [f"{label}: {result.error_text()}" for label, result in runs if result.errors]
    checks.append((
        "zero non-2xx answers (and no socket errors) in every run",
        f"{len(runs)} runs, {sum(r.requests for _, r in runs):,} requests: "
        + ("; ".join(bad) or "all clean"),
        not bad,
    ))  # fmt: skip
    return checks


def mean_others(results: list[Result]) -> float:
    """Average share of the CPU used by anything but the server under test and wrk."""
    shares = [result.others for result in results if result.others is not None]
    return sum(shares) / len(shares) if shares else 0.0


def render(report: dict, args) -> str:
    winner: Server = report["winner"]
    on, off, queries = report["cache_on"], report["cache_off"], report["queries"]
    out = []
    out.append(
        f"Run on {report['date']} with `{report['command']}`: {args.articles:,} generated stories "
        f"({report['articles']:,} in all, database {report['seeding']}), "
        f"wrk `-t{args.threads} -c{args.connections}`, {args.duration} s per measurement "
        f"after {args.warmup} s of warm-up; {report['elapsed']:.0f} s in all"
        + (
            f" ({report['setup_seconds']:.0f} s of it installing and starting services)."
            if report["setup_seconds"] >= 10
            else "."
        )
    )
    out.append("")
    out.append("### Machine")
    out.append("")
    described = report["machine"] | {
        "PostgreSQL": report["postgres"],
        "Redis": report["redis"],
        "Load average": f"{report['load_before']} before, {report['load_after']} after (1, 5, 15 min)",
    }
    out.append(table(["", ""], [[k, v] for k, v in described.items()]))
    out.append("")
    cached_runs = [result for results in report["servers"].values() for result in results.values()]
    busy = mean_others([*cached_runs, report["nginx"]])
    out.append(
        f"CPU used by anything but the server under test and wrk, on average: {busy:.0%} of the machine "
        "during the runs on cached pages (where PostgreSQL is idle: that is other work), "
        f"{mean_others(list(report['cache_off'].values())):.0%} during the runs with the cache off "
        "(PostgreSQL, Redis and other work)."
    )
    if busy > BUSY_SHARE:
        out.append("")
        out.append(
            "**The machine was busy**: other work took CPU time from the servers and wrk, so requests "
            "per second are lower and noisier than on an idle machine; CPU time per answer is less "
            "affected."
        )
    out.append("")
    out.append(f"### Pages, served by {winner.describe()}")
    out.append("")
    out.append(
        "Production settings (`DJANGO_DEBUG=false`, whitenoise, `DJANGO_CONN_MAX_AGE=600`), "
        "PostgreSQL and Redis on the same machine. *Cache on*: the anonymous page cache "
        "(`NEWSAPP_PAGE_CACHE_SECONDS=600`) serves warm pages; *cache off*: `NEWSAPP_PAGE_CACHE_SECONDS=0`, "
        "every request renders (warm database). Queries: SQL queries of one full render, and of a page "
        "cache hit. In-process: the median time of one answer through Django's test client (no server, "
        "no network), rendered and from the page cache. CPU: the app server's CPU time per answer "
        "(PostgreSQL, Redis and wrk not included), which other work on the machine changes much less "
        "than requests per second."
    )
    out.append("")
    rows = []
    for name, path in report["pages"].items():
        q = queries[name]
        hit = "not cached" if name in NEVER_CACHED else ("miss!" if q["hit"] is None else str(q["hit"]))
        hit_ms = "–" if name in NEVER_CACHED else ms(q["hit_ms"])
        rows.append([
            name, f"`{path}`", f"{q['render']} / {hit}", f"{ms(q['render_ms'])} / {hit_ms}",
            rps(on[name]), ms(on[name].p50_ms), ms(on[name].p99_ms), ms(on[name].cpu_ms),
            rps(off[name]), ms(off[name].p50_ms), ms(off[name].p99_ms), ms(off[name].cpu_ms),
            f"{on[name].error_text()} / {off[name].error_text()}",
        ])  # fmt: skip
    out.append(table(
        ["page", "URL", "queries: render / hit", "in-process: render / hit",
         "cache on req/s", "p50", "p99", "CPU", "cache off req/s", "p50", "p99", "CPU", "errors (on / off)"],
        rows,
    ))  # fmt: skip
    out.append("")
    out.append("### App servers on the cached pages")
    out.append("")
    out.append(
        "Each setup with the page cache on, the same settings and the same wrk runs; all of them run at "
        "once and are measured in turns, page by page. The winner has the highest geometric mean of the "
        "cached home, section and article pages' requests per second."
    )
    out.append("")
    servers = report["servers"]
    mean = {server: geomean([servers[server][name].rps for name in CACHED_PAGES]) for server in servers}
    ranked = sorted(servers, key=lambda server: -mean[server])
    if len(ranked) > 1:
        runner_up = ranked[1]
        out.append(
            f"Fastest: **{winner.describe()}**, {mean[winner] / mean[runner_up] - 1:+.0%} requests per "
            f"second on the cached pages (geometric mean) over the next best, {runner_up.describe()}."
        )
        out.append("")
    rows = []
    for server in ranked:
        results = servers[server]
        versus = "" if server == winner else f" ({mean[server] / mean[winner] - 1:+.0%})"
        cpu = [results[name].cpu_ms for name in CACHED_PAGES if results[name].cpu_ms is not None]
        rows.append([
            f"**{server.name}**" if server == winner else server.name,
            server.describe(),
            *(rps(results[name]) for name in (*CACHED_PAGES, "health")),
            f"{mean[server]:,.0f}{versus}",
            f"{ms(sum(cpu) / len(cpu) if cpu else None)} / {ms(results['health'].cpu_ms)}",
            ms(max(results[name].p99_ms for name in CACHED_PAGES)),
            f"{min(results[name].rps for name in CACHED_PAGES) / results['health'].rps:.0%}",
            str(sum(result.errors for result in results.values())),
        ])  # fmt: skip
    out.append(table(
        ["server", "setup", "home", "section", "article", "health", "geo. mean (vs best)",
         "CPU per answer: cached pages / health", "worst p99", "cheapest page / health", "errors"],
        rows,
    ))  # fmt: skip
    out.append("")
    nginx: Result = report["nginx"]
    out.append("### The physical limit: nginx serving the saved home page")
    out.append("")
    out.append(
        f"nginx {report['machine']['nginx']} ({args.nginx_workers} workers, loopback, a config of the "
        f"benchmark's own) serving a saved copy of the home page ({report['home_bytes']:,} bytes), "
        f"measured in the same turn as the app servers' home pages: "
        f"**{rps(nginx)} req/s**, p50 {ms(nginx.p50_ms)}, p99 {ms(nginx.p99_ms)}, "
        f"CPU {ms(nginx.cpu_ms)} per answer, errors "
        f"{nginx.error_text()}. The app's cached home page: {rps(on['home'])} req/s, "
        f"**{on['home'].rps / nginx.rps:.1%} of nginx's**; its health check: "
        f"{health_share(on, nginx)} of nginx's."
    )
    out.append("")
    out.append("### Targets (issue 5)")
    out.append("")
    out.append(targets_table(report["targets"]))
    return "\n".join(out) + "\n"


def health_share(on: dict[str, Result], nginx: Result) -> str:
    return f"{on['health'].rps / nginx.rps:.1%}" if nginx.rps else "–"
