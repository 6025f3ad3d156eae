"""bench/scale.py's findings (query counts that differ between the sizes, sequential scans of big
tables, queries that read more rows as the archive grows, slow renders) and its Markdown report."""

from __future__ import annotations

import os
import platform

from bench import report as doc
from bench.lib import machine
from bench.scale_database import db_name
from bench.scale_probe import BIG_TABLE, normalized

SECTION_TITLE = "## At a million stories"
SLOW_RENDER_MS = 250  # a warm render slower than this at the bigger size is noted, with its SQL share

PAGES = (
    ("home", "home"),
    ("section", "section, first page"),
    ("section_deep", "section, deep cursor page (90% down)"),
    ("section_numbered", "section, page 25 (numbered)"),
    ("article", "article"),
    ("source", "outlet (source) page"),
    ("source_deep", "outlet, deep cursor page (90% down)"),
    ("feed", "RSS feed"),
    ("sitemap_index", "sitemap index"),
    ("sitemap_first", "story sitemap, this month"),
    ("sitemap_last", "story sitemap, the oldest month"),
    ("news_sitemap", "news sitemap"),
    ("sources", "outlet directory /sources/, first page"),
    ("sources_deep", "outlet directory, a deep page (90% down)"),
    ("sources_left", "outlet directory, ?lean=left"),
    ("methodology", "/methodology/"),
    ("blindspot", "/blindspot/"),
    ("blindspot_feed", "/blindspot/feed/ (RSS)"),
    ("balance", "/balance/"),
    ("api_stories", "API stories, first page"),
    ("api_stories_deep", "API stories, a cursor page (90% down)"),
    ("api_stories_section", "API stories, ?section=&since= (7 days)"),
    ("api_outlets", "API outlets"),
    ("api_outlet", "API outlet (the most cited)"),
    ("api_blindspots", "API blindspots"),
)


def describe_machine(postgres: str) -> dict[str, str]:
    return {
        "CPU": f"{machine.cpu_model()}, {os.cpu_count()} logical cores",
        "RAM": machine.ram(),
        "PostgreSQL": postgres,
        "OS": machine.kernel(),
        "Python / Django": f"{platform.python_version()} / {machine.version('django')}",
    }


def slowest(page: dict) -> dict | None:
    return max(page["queries"], key=lambda q: q["ms"], default=None)


def size_label(articles: int) -> str:
    if articles >= 1_000_000 and articles % 1_000_000 == 0:
        return f"{articles // 1_000_000}M"
    if articles >= 1000 and articles % 1000 == 0:
        return f"{articles // 1000}k"
    return f"{articles:,}"


def shorten(sql: str, head: int = 420, tail: int = 280) -> str:
    """The start and the end of a long statement (its WHERE, ORDER BY, LIMIT and OFFSET)."""
    return sql if len(sql) <= head + tail + 5 else f"{sql[:head]} … {sql[-tail:]}"


def finding(headline: str, query: dict) -> dict:
    return {"headline": headline, "sql": shorten(query["sql"]), "plan": query["plan"]}


def findings(results: dict[int, dict]) -> tuple[list[dict], list[dict]]:
    """(errors, notes). Errors: query counts that differ between the sizes, a sequential scan of a big
    table. Notes: a page whose queries read many times more rows at the bigger size (not bounded)."""
    errors, notes = [], []
    sizes = sorted(results)
    small, big = sizes[0], sizes[-1]
    for key, title in PAGES:
        pages = {n: results[n]["pages"][key] for n in sizes}
        for kind, what in (("cold", "from scratch"), ("warm", "warm")):
            counts = {n: pages[n][kind] for n in sizes}
            if len(set(counts.values())) > 1:
                shown = ", ".join(f"{c} at {size_label(n)}" for n, c in counts.items())
                seen = {normalized(sql) for sql in pages[small][f"{kind}_sql"]}
                extra = [sql for sql in pages[big][f"{kind}_sql"] if normalized(sql) not in seen]
                errors.append({
                    "headline": f"{title} (`{pages[big]['url']}`): {shown} queries {what}",
                    "sql": "\n\n".join(shorten(sql) for sql in extra) or "(the same statements, repeated)",
                    "plan": "",
                })  # fmt: skip
        for n in sizes:
            for query in pages[n]["queries"]:
                if query["big_seq_scans"]:
                    errors.append(finding(
                        f"{title} at {size_label(n)} (`{pages[n]['url']}`): sequential scan of "
                        f"{', '.join(query['big_seq_scans'])}, {query['ms']:.1f} ms, "
                        f"{query['rows_read']:,} rows read",
                        query,
                    ))  # fmt: skip
        if len(sizes) > 1 and pages[big]["queries"]:
            widest = max(pages[big]["queries"], key=lambda q: q["rows_read"])
            before = max((q["rows_read"] for q in pages[small]["queries"]), default=0)
            # More than two sitemap pages (10,000 rows each: bounded by the page, not the archive).
            if widest["rows_read"] > max(20_000, 20 * before) and not widest["big_seq_scans"]:
                notes.append(finding(
                    f"{title} (`{pages[big]['url']}`): one query reads {widest['rows_read']:,} rows at "
                    f"{size_label(big)} (the widest at {size_label(small)}: {before:,}), "
                    f"{widest['ms']:.1f} ms: "
                    "it grows with the archive",
                    widest,
                ))  # fmt: skip
        scanned = any(q["big_seq_scans"] for q in pages[big]["queries"])
        if pages[big]["warm_ms"] > SLOW_RENDER_MS and not scanned:
            page = pages[big]
            compared = f" ({pages[small]['warm_ms']:,.1f} ms at {size_label(small)})" if small != big else ""
            notes.append({
                "kind": "Slow render",
                "headline": f"{title} (`{page['url']}`): a warm render takes {page['warm_ms']:,.0f} ms at "
                f"{size_label(big)}{compared}; its queries take {page['warm_sql_ms']:,.1f} ms in PostgreSQL "
                "(EXPLAIN ANALYZE), the rest is fetching rows, Python and templates",
                "sql": "",
                "plan": "",
            })  # fmt: skip
    return errors, notes


def render(results: dict[int, dict], loads: dict[int, dict], errors: list, notes: list) -> str:
    sizes = sorted(results)
    big = sizes[-1]
    label = {n: size_label(n) for n in sizes}
    header = ["page"]
    header += [f"queries at {label[n]} (scratch / warm)" for n in sizes]
    header += [f"warm ms at {label[n]}" for n in sizes]
    header += [f"slowest query ms at {label[big]}", f"rows read at {label[big]}", "seq scans"]
    rows = []
    for key, title in PAGES:
        pages = {n: results[n]["pages"][key] for n in sizes}
        row = [title]
        row += [f"{pages[n]['cold']} / {pages[n]['warm']}" for n in sizes]
        row += [f"{pages[n]['warm_ms']:,.1f}" for n in sizes]
        worst = slowest(pages[big])
        row.append(f"{worst['ms']:,.1f}" if worst else "–")
        row.append(f"{sum(q['rows_read'] for q in pages[big]['queries']):,}")
        scanned = sorted({t for q in pages[big]["queries"] for t in q["big_seq_scans"]})
        tiny = sorted({t for q in pages[big]["queries"] for t in q["seq_scans"]} - set(scanned))
        cell = ", ".join(f"**{t.removeprefix('articles_')}**" for t in scanned) or "none"
        if tiny:
            cell += f" (small: {', '.join(t.removeprefix('articles_') for t in tiny)})"
        row.append(cell)
        rows.append(row)
    date = doc.now()
    command = doc.command(target="bench-scale", variable="SCALE_ARGS", script="bench/scale.py")
    lines = [
        f"Run on {date} with `{command}`. Each page is asked for in-process (Django's test client, "
        "production settings: DEBUG off, HTTPS through the proxy header, collected static files; page "
        "cache off). *Queries*: those of a render from scratch (Redis flushed, fragment cache off: "
        "cards, counts and related stories computed anew) / of a warm render (fragments and cards "
        "cached). *Warm ms*: the median of a warm render. *Slowest query*: EXPLAIN ANALYZE of every "
        "query of both renders. *Rows read*: the rows those queries took from tables and indexes "
        f"(EXPLAIN ANALYZE, both renders together). *Seq scans*: of articles_* tables at {label[big]}; "
        f"in bold a table of more than {BIG_TABLE:,} rows (an error), in brackets small ones (sections, "
        "outlets, corrections), which the planner rightly reads whole.",
        "",
        "### Machine",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in describe_machine(results[big]["postgres"]).items()]
    lines += ["", "### Databases", ""]
    for n in sizes:
        load, rows_of = loads[n], results[n]["table_rows"]
        how = "reused" if load.get("reused") else "made in this run"
        steps = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in load.get("steps", {}).items())
        lines.append(
            f"- `{db_name(n)}`: {n:,} published stories, {rows_of.get('articles_articlesource', 0):,} "
            f"citations, {rows_of.get('articles_biasrating', 0):,} ratings; {load.get('size', '?')} on "
            f"disk. Loaded on {load.get('date', '?')} in {load['seconds']:.0f} s ({how})"
            + (f": {steps}." if steps else ".")
        )
    lines += ["", "### Pages", "", doc.table(header, rows), ""]
    urls = "; ".join(f"{title} `{results[big]['pages'][key]['url']}`" for key, title in PAGES)
    lines += [f"URLs at {label[big]}: {urls}.", ""]
    lines += ["### Findings", ""]
    if not errors and not notes:
        lines.append(
            "None: the same number of queries at every size, no sequential scan of a big table, "
            "no query reading many more rows at the bigger size."
        )
    for kind, items in (("Error", errors), ("Grows with the archive", notes)):
        for item in items:
            lines += [f"- **{item.get('kind', kind)}**: {item['headline']}.", ""]
            if item["sql"] or item["plan"]:
                lines += ["  ```"]
                lines += ["  " + line for line in item["sql"].splitlines()]
                lines += ["  " + line for line in item["plan"].splitlines()]
                lines += ["  ```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
