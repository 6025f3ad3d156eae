"""bench/cluster.py's report: Markdown for the cluster's section of docs/performance.md (written
between its markers by bench/report.py), with the verdicts the figures lead to."""

from __future__ import annotations

import math

from bench import report as doc
from bench.lib.wrk import Result

TARGET_RATIO = 0.5
# nginx's proxy_cache would have to be this much faster than Varnish to outweigh what it lacks.
FAR_BETTER = 1.5
SETUPS = ("Varnish", "nginx proxy_cache", "app A", "apps A+B", "nginx from disk")


def geomean(values: list[float]) -> float:
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else 0.0


def ms(value) -> str:
    return "–" if value is None else doc.ms(value)


def cpu(result: Result) -> str:
    return "–" if result.cpu_ms is None else f"{result.cpu_ms:.3f} ms"


def ratios(side: dict) -> list[tuple[str, float, float | None, bool]]:
    """(page, Varnish req/s / nginx-from-disk req/s, the same of their CPU per answer (nginx's /
    Varnish's), met) for each page."""
    out = []
    for page, disk in side["results"]["nginx from disk"].items():
        proxy = side["results"]["Varnish"][page]
        ratio = proxy.rps / disk.rps if disk.rps else 0.0
        cost = disk.cpu_ms / proxy.cpu_ms if disk.cpu_ms and proxy.cpu_ms else None
        out.append((page, ratio, cost, ratio >= TARGET_RATIO))
    return out


def cpu_sentence(side: dict) -> str:
    """What an answer costs each server, in CPU (geometric means over the pages)."""
    cost = {
        who: geomean([r.cpu_ms or 0 for r in side["results"][who].values()])
        for who in ("Varnish", "nginx from disk", "app A")
    }
    if not all(cost.values()):
        return "CPU per answer could not be read for every server."
    disk = cost["nginx from disk"]
    return (
        f"An answer costs Varnish {cost['Varnish']:.3f} ms of CPU, {cost['Varnish'] / disk:.1f} "
        f"times nginx's from disk ({disk:.3f} ms) and "
        f"{cost['app A'] / cost['Varnish']:.0f} times less than a hit in an app server's own page cache "
        f"({cost['app A']:.3f} ms): with wrk sharing the 2 cores, the proxy's rate follows that cost."
    )


def proxy_verdict(side: dict) -> tuple[str, float, float]:
    results = side["results"]
    varnish = geomean([r.rps for r in results["Varnish"].values()])
    nginx = geomean([r.rps for r in results["nginx proxy_cache"].values()])
    if nginx >= FAR_BETTER * varnish:
        text = (
            f"nginx's proxy_cache served {nginx / varnish:.1f} times Varnish's rate: far better, worth "
            "weighing against its lack of purges by surrogate key"
        )
    else:
        text = (
            "**Varnish**: nginx's proxy_cache served "
            f"{nginx / varnish:.2f} times Varnish's rate, not far better, and open-source nginx cannot "
            "purge by surrogate key (proxy_cache_purge is NGINX Plus's; the third-party ngx_cache_purge "
            "drops one URL at a time), so a publish could not drop every page that shows the story"
        )
    return text, varnish, nginx


def pool_verdict(pool: dict) -> tuple[str, str]:
    """(the default the figures call for: "PgBouncer" or "no PgBouncer", a sentence). Decided by CPU
    per answer (the app servers' and PgBouncer's), which other work on the machine changes far less
    than requests a second: PgBouncer must save at least 10 % of it."""
    results = pool["results"]
    means = {name: geomean([r.rps for r in pages.values()]) for name, pages in results.items()}
    cpu = {name: geomean([r.cpu_ms or 0 for r in pages.values()]) for name, pages in results.items()}
    direct = next(name for name in means if name.startswith("direct, persistent"))
    bouncer = "PgBouncer, persistent"
    per_request = means["PgBouncer, a connection per request"] / means["direct, a connection per request"]
    if cpu[bouncer] <= 0.9 * cpu[direct]:
        winner, why = "PgBouncer", "it makes an answer measurably cheaper"
    else:
        winner, why = "no PgBouncer", "it makes no answer cheaper, and it is one process more to run"
    text = (
        f"with Django's persistent connections an uncached answer costs {cpu[bouncer]:.2f} ms of CPU "
        f"through PgBouncer (the app server's and PgBouncer's) against {cpu[direct]:.2f} ms direct, and "
        f"PgBouncer served {means[bouncer] / means[direct]:.2f} times the direct rate (geometric means of "
        f"the uncached pages); with a connection per request, {per_request:.2f} times. Default on this "
        f"machine: **{winner}** ({why}). Each app server holds at most {pool['connections']} connections "
        "per database (workers x threads); PgBouncer is what keeps PostgreSQL's backends few once app "
        f"servers are many (max_connections 100 is reached by {100 // pool['connections']} such app servers)"
    )
    return winner, text


def pages_table(side: dict) -> str:
    rows = []
    for setup in SETUPS:
        for page, result in side["results"][setup].items():
            rows.append(
                [setup, page, doc.rps(result), doc.ms(result.p50_ms), doc.ms(result.p99_ms), cpu(result),
                 f"{result.others or 0:.0%}", result.error_text()]
            )  # fmt: skip
    header = ["served by", "page", "req/s", "p50", "p99", "CPU per answer", "other work", "errors"]
    return doc.table(header, rows)


def purge_part(purge: dict) -> list[str]:
    trips, publish, load = purge["round_trips"], purge["publish"], purge["under_load"]
    rows = [
        [f"PURGE of one story's key (`story-N`), round trip ({trips['count']} times)",
         f"median {ms(trips['story_median_ms'])}, p99 {ms(trips['story_p99_ms'])}"],
        ["PURGE of `site` (every HTML page), round trip",
         f"{ms(trips['site_ms'])} ({trips['site_status']}: {trips['site_answer']})"],
    ]  # fmt: skip
    for change in ("publish", "unpublish"):
        seen = "shows it" if change == "publish" else "without it"
        for what, label in (
            ("purge_answered", "commit → purge answered by Varnish"),
            ("returned", "commit → save returned (the purge is sent before it returns)"),
            ("visible", f"commit → front page through the proxy {seen}"),
        ):
            median, worst, missing = publish[f"{change} {what}"]
            text = f"median {ms(median)}, worst {ms(worst)}" + (f"; **{missing} never**" if missing else "")
            rows.append([f"{change}: {label}", text])
    out = [doc.table(["what", "time"], rows), ""]
    out.append(
        "The front page's answers through the proxy after each change's save returned, until one showed it "
        "(X-Cache / the app's X-Page-Cache; *old*: without the change), in the first rounds:"
    )
    out.append("")
    for n, found in enumerate(purge["rounds"][:4], 1):
        seen = "; ".join(
            f"{change}: {', '.join(found[change]['answers'])}" for change in ("publish", "unpublish")
        )
        out.append(f"- round {n}: {seen}")
    out.append("")
    out.append(
        f"Under load ({load['clients']} client processes on keep-alive connections through Varnish, "
        f"{load['paths']} pages in turns, {load['seconds']} s, every answer noted: {load['rps']:,.0f} "
        f"answers/s, p50 {ms(load['p50_ms'])}, p99 {ms(load['p99_ms'])}, {load['errors']} not 2xx; "
        "steps of 0.25 s):"
    )
    out.append("")
    rows = []
    for key, found in load["dips"].items():
        if not found:
            rows.append([f"`{key}`", "–", "–", "–", "–", "–", "–"])
            continue
        recovered, change = found["recovered_s"], -found["dip"]
        rows.append(
            [f"`{key}`", f"{found['baseline_rps']:,.0f}", f"{found['lowest_rps']:,.0f} ({change:+.0%})",
             "–" if recovered is None else f"{recovered:.2f} s", f"{found['extra_fetches']:.0f}",
             f"{ms(found['p99_before_ms'])} → {ms(found['p99_after_ms'])}", str(found["errors"])]
        )  # fmt: skip
    header = [
        "purged",
        "answers/s before",
        "fewest in a step after",
        "back to 90 %",
        "extra answers from an app server (2 s)",
        "p99 before → in the second after",
        "not 2xx",
    ]
    return [*out, doc.table(header, rows), ""]


def lag_part(lag: dict) -> list[str]:
    writes = lag["writes"]
    saving = writes["saves_ended"] - writes["saves_started"]
    importing = writes["import_ended"] - writes["saves_ended"]
    rows = []
    for label, part in (
        (
            f"{writes['saves']:,} story saves, one transaction each ({writes['saves'] / saving:.0f}/s)",
            lag["saves"],
        ),
        (f"{writes['imported']:,} drafts imported in one transaction ({importing:.1f} s)", lag["import"]),
    ):
        if not part:
            rows.append([label, "–", "–", "–"])
            continue
        since = (
            "–" if part.get("since_max") is None else f"{part['since_p99']:.3f} / {part['since_max']:.3f} s"
        )
        rows.append(
            [label, f"{part['lag_p99']:.3f} / {part['lag_max']:.3f} s",
             f"{part['bytes_p99']:,.0f} / {part['bytes_max']:,} bytes",
             since if part is lag["saves"] else "–"]
        )  # fmt: skip
    header = [
        "burst",
        "replay_lag p99 / max",
        "WAL not replayed p99 / max",
        "replica: last replay age p99 / max",
    ]
    return [
        doc.table(header, rows),
        "",
        f"The replica had replayed everything {lag['caught_up_s']:.2f} s after the last write returned.",
        "",
    ]


def pool_part(pool: dict) -> list[str]:
    rows = []
    for name, pages in pool["results"].items():
        for page, result in pages.items():
            rows.append(
                [name, page, doc.rps(result), doc.ms(result.p50_ms), doc.ms(result.p99_ms), cpu(result)]
            )
    header = ["database connections", "page", "req/s", "p50", "p99", "CPU per answer (app + PgBouncer)"]
    _, verdict = pool_verdict(pool)
    note = (
        "CPU per answer counts the app servers and PgBouncer, not PostgreSQL: with a connection per "
        "request, each direct connection also costs PostgreSQL a new backend and a SCRAM exchange "
        "(uncounted here), which PgBouncer's pool spares it while paying a SCRAM exchange of its own."
    )
    return [doc.table(header, rows), "", note, "", f"Verdict: {verdict}.", ""]


def render(report: dict) -> str:
    side = report["side"]
    pages = ", ".join(
        f"{name} `{path}` ({side['bytes'][name]:,} bytes)" for name, path in report["pages"].items()
    )
    proxy_text, varnish, nginx = proxy_verdict(side)
    machine = report["machine"]
    out = [
        f"Run on {report['date']} with `{report['command']}` ({report['elapsed']:.0f} s; the cluster "
        f"{'started and stopped by the run' if report['started_cluster'] else 'already up'}; load average "
        f"{report['load_before']} before, {report['load_after']} after). Machine: {machine['CPU']}, "
        f"{machine['RAM']}; {machine['OS']}; nginx {machine['nginx']}, wrk {machine['wrk']}. wrk on "
        f"loopback, {report['args'].threads} threads, {report['args'].connections} connections, "
        f"{report['args'].duration} s per run after {report['args'].warmup} s of warm-up. Pages: {pages}.",
        "",
        "Every process shares the 2 cores with wrk: *CPU per answer* (of the processes that served "
        "the run: varnishd, nginx, or the app servers) is the figure to compare between setups; "
        "*other work* is the rest of the machine meanwhile.",
        "",
        "### Pages: the proxy, the app servers, nginx from disk",
        "",
        pages_table(side),
        "",
        doc.table(
            [
                "page",
                "Varnish / nginx from disk: req/s",
                f"target ≥ {TARGET_RATIO}",
                "CPU per answer, nginx's / Varnish's",
            ],
            [
                [page, f"{ratio:.2f}", "yes" if ok else "**no**", "–" if cost is None else f"{cost:.2f}"]
                for page, ratio, cost, ok in ratios(side)
            ],
        ),
        "",
        "Varnish, nginx from disk and nginx proxy_cache ran twice each, in turns; the tables give each "
        "one's best run (the least disturbed by other work). Both runs, req/s: "
        + "; ".join(
            f"{who} {', '.join('/'.join(f'{r.rps:,.0f}' for r in found) for found in pages.values())}"
            for who, pages in side["tries"].items()
        )
        + " (home, section, article).",
        "",
        cpu_sentence(side),
        "",
        "Hit rates during the runs: "
        + ", ".join(
            f"{who} {'–' if rate is None else f'{rate:.2%}'}" for who, rate in side["hit_rates"].items()
        )
        + ".",
        "",
        f"Proxy: Varnish {varnish:,.0f} req/s, nginx proxy_cache {nginx:,.0f} req/s (geometric means "
        f"of the three pages). Choice: {proxy_text}.",
        "",
        "### The cost of a purge",
        "",
        *purge_part(report["purge"]),
        "### Replica lag under a write burst",
        "",
        f"Through the ORM in the cluster's environment (signals, content version, purges), sampled every "
        f"50 ms on the primary (pg_stat_replication: replay_lag, and the WAL bytes not yet replayed) and on "
        f"the replica (now() − pg_last_xact_replay_timestamp(), meaningful while commits keep coming); "
        f"{report['lag']['replicas']} replica(s).",
        "",
        *lag_part(report["lag"]),
        "### PgBouncer or not",
        "",
        f"Uncached pages (page cache off) from app servers of the run's own ({report['pool']['server']}, "
        "as the cluster's), reading the cluster's primary and replica directly or through a PgBouncer "
        f"({report['pool']['pgbouncer']}) of the run's own in transaction pooling, measured in turns.",
        "",
        *pool_part(report["pool"]),
    ]
    return "\n".join(out) + "\n"
