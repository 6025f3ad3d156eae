"""bench/ingest.py's targets and Markdown report (the "Newsdesk ingestion" section of
docs/performance.md)."""

from __future__ import annotations

import pstats
from pathlib import Path

from bench import report as doc

SECTION_TITLE = "## Newsdesk ingestion"
MIN_RATE = 20.0  # pieces per second, end to end (issue 12, point 10)
MAX_WORKER_MB = 300.0
MAX_GROUPING_RATIO = 2.0

POLITENESS_WAIT = "waiting for the host's turn (time.sleep in hosts.host_slot)"
# What the profile of one worker is read for: (label, file ending, function), cumulative seconds.
PROFILED = (
    ("the whole of fetch_feed (all its feeds)", "newsdesk/ingest.py", "fetch_feed"),
    ("fetches of the feed and pages (fetch)", "newsdesk/fetching/client.py", "fetch"),
    (
        "robots.txt fetches (robots_txt_fetch)",
        "newsdesk/fetching/client.py",
        "robots_txt_fetch",
    ),
    ("extraction (trafilatura)", "newsdesk/pieces.py", "extract"),
    ("grouping (group_piece)", "newsdesk/grouping.py", "group_piece"),
    ("wire copies (_copies_mark)", "newsdesk/ingest.py", "_copies_mark"),
    ("summaries (summarise)", "newsdesk/summaries/__init__.py", "summarise"),
    ("fingerprint (SimHash)", "newsdesk/pieces.py", "fingerprint"),
    ("feed parsing (parse_feed)", "newsdesk/feeds.py", "parse_feed"),
    ("every SQL statement (psycopg execute)", "psycopg/cursor.py", "execute"),
)


def profile_breakdown(path: Path) -> list[tuple[str, float, int]]:
    """(label, cumulative seconds, calls) of the functions in PROFILED, from a cProfile dump, and
    first the politeness waits: time.sleep called by the fetcher's host_slot."""
    stats = pstats.Stats(str(path)).stats
    waits = [
        timing
        for (_, _, name), entry in stats.items()
        if name == "<built-in method time.sleep>"
        for (_, _, caller), timing in entry[4].items()
        if caller == "host_slot"
    ]
    rows = []
    for label, ending, function in PROFILED:
        found = [
            (v[3], v[1]) for (file, _, name), v in stats.items() if name == function and file.endswith(ending)
        ]
        rows.append((label, sum(ct for ct, _ in found), sum(n for _, n in found)))
    # A builtin's own time is its whole time; the cumulative figure cProfile gives a generator
    # caller (host_slot, resumed by contextlib) is not.
    rows.insert(3, (POLITENESS_WAIT, sum(t[2] for t in waits), sum(t[0] for t in waits)))
    return rows


def targets(report: dict) -> list[tuple[str, str, bool]]:
    main = report["main"]
    peak = max((w["peak_mb"] or 0) for run in report["runs"] for w in run["per_worker"])
    checks = [
        (
            f"end to end with {main['workers']} workers: ≥ {MIN_RATE:.0f} pieces/s",
            f"{main['rate']:.1f} pieces/s",
            main["rate"] >= MIN_RATE,
        ),
        (f"a worker's peak memory < {MAX_WORKER_MB:.0f} MB", f"{peak:.0f} MB", peak < MAX_WORKER_MB),
    ]
    sizes = report.get("grouping", {}).get("sizes")
    if sizes:
        small, big = sizes
        ratio = big["median_ms"] / small["median_ms"]
        checks.append((
            f"grouping one piece at {big['pieces']:,} vs {small['pieces']:,} stored: "
            f"within {MAX_GROUPING_RATIO:g}x",
            f"median {ratio:.2f}x, p95 {big['p95_ms'] / small['p95_ms']:.2f}x",
            ratio <= MAX_GROUPING_RATIO,
        ))  # fmt: skip
    every = report["items"]
    bad = [f"{run['workers']} workers: {run['pieces']}" for run in report["runs"] if run["pieces"] != every]
    checks.append(
        ("every item stored as a piece in every run", "; ".join(bad) or f"{every:,} each time", not bad)
    )
    return checks


def _runs_table(report: dict) -> str:
    rows = []
    for run in report["runs"]:
        peaks = [w["peak_mb"] or 0 for w in run["per_worker"]]
        cpu = sum(w["cpu_seconds"] for w in run["per_worker"])
        rows.append([
            str(run["workers"]) + (f" ({run['label']})" if run["label"] else ""),
            f"{run['seconds']:.1f} s",
            f"{run['pieces']:,}",
            f"{run['rate']:.1f}" if run["label"] else f"**{run['rate']:.1f}**",
            f"{run['candidates']:,}",
            f"{run['summaries']:,}",
            f"{run['copies']}",
            f"{run['pieces_from_feed_text']}",
            f"{cpu / max(run['pieces'], 1) * 1000:.0f} ms",
            f"{run['machine_busy'] * 100:.0f}%",
            f"{max(peaks):.0f} MB",
            f"{run['feeds_failed']} / {run['tasks_failed']}",
        ])  # fmt: skip
    header = [
        "workers", "time", "pieces", "pieces/s", "candidates", "summaries made", "wire copies",
        "page not read", "workers' CPU per piece", "machine CPU busy", "peak worker memory (VmHWM)",
        "failed feeds / tasks",
    ]  # fmt: skip
    return doc.table(header, rows)


def _grouping_table(grouping: dict) -> str:
    rows = []
    for size in grouping["sizes"]:
        rows.append([
            f"{size['pieces']:,}",
            f"{size['candidates']:,}",
            f"{size['candidate_terms']:,} ({size['candidate_terms_size']})",
            f"{size['terms']:,}",
            doc.ms(size["median_ms"]),
            doc.ms(size["p95_ms"]),
            doc.ms(size["max_ms"]),
            f"{size['queries_median']:g} (max {size['queries_max']})",
            f"{size['joined_stored']} of {size['n']}",
        ])  # fmt: skip
    header = [
        "pieces stored", "candidates", "index rows (CandidateTerm)", "terms", "group_piece median",
        "p95", "max", "queries", "joined a stored candidate",
    ]  # fmt: skip
    return doc.table(header, rows)


def render(report: dict, args, *, findings: list[str]) -> str:
    machine = report["machine"]
    out = [
        f"Run on {report['date']} with `{report['command']}`; {report['elapsed']:.0f} s in all. "
        f"{machine['CPU']}, {machine['RAM']} RAM, PostgreSQL {report['postgres']}, Python "
        f"{machine['Python']}, Django {machine['Django']}; load average {report['load_before']} before, "
        f"{report['load_after']} after (1, 5, 15 min; other developers share this machine).",
        "",
        f"**End to end.** {report['outlets']} outlets on loopback (newsdesk/demo/feed_server.py, one server "
        f"and port each, so the fetcher's per-host limits apply as to {report['outlets']} real outlets), "
        f"{report['items']:,} items in all ({report['items'] // report['outlets']} per outlet's RSS feed), "
        "each "
        f"with its article page: the labelled corpus's {report['corpus_pieces']} pieces about "
        f"{report['corpus_events']} events used again in {report['variants']} variants (five weeks apart, "
        "names "
        f"changed; {report['events']} events in all). The outlets and their feeds are added with "
        "`manage.py import_articles` (a document of `sources` with `feeds`), which queues each feed's first "
        "fetch; then W `manage.py db_worker` processes are started and the time runs until every feed has "
        "been fetched and no due task is left (the database polled every "
        f"{report['poll_seconds']:g} s). A fresh database each run. Production settings with "
        "`NEWSAPP_FETCH_ALLOW_PRIVATE=true` (loopback) and the fetcher's default politeness: "
        f"`NEWSAPP_FETCH_HOST_INTERVAL={report['host_interval']}` s between requests to a host, "
        f"`NEWSAPP_FETCH_HOST_CONCURRENCY={report['host_concurrency']}`; no LLM configured (extractive "
        "summaries). Each worker's fetch_feed fetches the feed, then each item's page, extracts it, "
        "fingerprints, groups and checks for wire copies, then summarises the touched candidates.",
        "",
        _runs_table(report),
        "",
        "CPU per piece is the workers' own (user + system, from /proc); PostgreSQL and the outlet servers "
        "are in the machine's share. Memory is each worker's VmHWM (peak resident set) from "
        "/proc/PID/status.",
        "",
    ]
    if report.get("profile"):
        out += [
            "Where one worker's time went (cProfile of worker 1 in the run of "
            f"{report['profile']['workers']} "
            f"workers; its wall-clock time {report['profile']['wall']:.0f} s, cumulative seconds, profiling "
            "slows the Python work about 1.5x):",
            "",
            doc.table(
                ["what", "seconds", "calls"],
                [[label, f"{s:.1f}", f"{n:,}" if n else ""] for label, s, n in report["profile"]["rows"]],
            ),
            "",
            "The wait is time.sleep's own time called from the fetcher's host_slot (a generator context "
            "manager): cProfile undercounts the cumulative time of the functions around it (fetch).",
            "",
        ]
    grouping = report.get("grouping")
    if grouping:
        small, big = grouping["sizes"]
        out += [
            f"**Grouping one piece as the store grows.** {small['pieces']:,} pieces stored and grouped one "
            "by "
            f"one through newsdesk.grouping.group_piece ({grouping['fill_seconds']:.0f} s, "
            f"{small['pieces'] / grouping['fill_seconds']:.0f} pieces/s on one process), then grown to "
            f"{big['pieces']:,} in SQL ({grouping['grow_seconds']:.0f} s: pieces, candidates and their index "
            "terms copied with dates moved back by whole spans of the stored range and new URLs, term counts "
            f"multiplied; VACUUM ANALYZE at both sizes). At each size {small['n']} new pieces (the corpus "
            "under "
            "names no stored piece has, dated inside the stored range) are saved and grouped one at a time, "
            "after a warm-up pass over the same pieces, and rolled back; group_piece alone is timed, its SQL "
            "queries counted (savepoints included).",
            "",
            _grouping_table(grouping),
            "",
        ]
    out += [doc.targets_table(report["targets"]), ""]
    if findings:
        out += ["**Findings.**", "", *[f"- {finding}" for finding in findings], ""]
    return "\n".join(out)
