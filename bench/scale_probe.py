"""bench/scale.py's in-process measurement, run as `bench/scale.py --probe` in a size's environment:
each page asked for through Django's test client, from scratch and warm, with EXPLAIN (and EXPLAIN
ANALYZE) of every SELECT. One JSON document goes to stdout."""

from __future__ import annotations

import base64
import json
import os
import re
import statistics
import time

from bench.lib.processes import HOST

# A sequential scan of a table with more rows than this is an error; below it the planner is right
# to read a few pages rather than an index.
BIG_TABLE = 10_000
WARM_RUNS = (7, 40)  # at least, at most warm renders timed per page
WARM_BUDGET = 2.0  # seconds of warm renders per page, past the minimum
HEADERS = {"HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https"}


def normalized(sql: str) -> str:
    """The statement with its timestamps (the current time, cut-offs) left out: the same query."""
    return re.sub(r"'\d{4}-\d{2}-\d{2}[ T][0-9:.+-]+'", "'…'", sql)


def scans(plan: dict, found: list | None = None) -> list[dict]:
    """Every scan node of a plan (with its loops and rows, when analysed)."""
    found = [] if found is None else found
    if plan.get("Node Type", "").endswith("Scan") and plan.get("Relation Name"):
        found.append(plan)
    for child in plan.get("Plans", []):
        scans(child, found)
    return found


def rows_read(node: dict) -> int:
    """Rows a scan node produced or threw away, over all its loops (an analysed plan)."""
    per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
    per_loop += node.get("Rows Removed by Index Recheck", 0)
    return int(per_loop * node.get("Actual Loops", 1))


def plan_text(node: dict, depth: int = 0) -> list[str]:
    """A compact text form of an analysed JSON plan."""
    what = node["Node Type"]
    if node.get("Relation Name"):
        what += f" on {node['Relation Name']}"
    if node.get("Index Name"):
        what += f" using {node['Index Name']}"
    details = []
    for key in ("Index Cond", "Filter", "Hash Cond", "Sort Key", "Group Key"):
        if node.get(key):
            details.append(f"{key}: {node[key]}")
    timing = ""
    if "Actual Rows" in node:
        timing = (
            f" (rows={node['Actual Rows']} loops={node['Actual Loops']}"
            f" time={node.get('Actual Total Time', 0):.1f} ms)"
        )
    lines = ["  " * depth + "-> " + what + timing]
    lines += ["  " * depth + "     " + str(detail)[:200] for detail in details]
    for child in node.get("Plans", []):
        lines += plan_text(child, depth + 1)
    return lines


def api_cursor(position) -> str:
    """A cursor as REST framework's CursorPagination writes it: the stories after this position."""
    from urllib.parse import quote, urlencode

    return quote(base64.b64encode(urlencode({"p": position}).encode()).decode(), safe="")


def coverage_pages(published, outlet, section) -> dict[str, str]:
    """The coverage pages and the API (issue 13): the outlet directory's first, a deep and a filtered
    page, the methodology, blindspots and their feed, balance, and the API's lists and details."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from articles.models import Source
    from articles.site import outlets

    directory = reverse("articles:sources")
    pages = -(-Source.objects.count() // outlets.PER_PAGE)
    stories = reverse("api:story-list")
    deep = published.order_by("-published_at", "-pk")[int(published.count() * 0.9)]
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    return {
        "sources": directory,
        "sources_deep": f"{directory}?page={max(1, int(pages * 0.9))}",
        "sources_left": f"{directory}?lean=left",
        "methodology": reverse("coverage:methodology"),
        "blindspot": reverse("coverage:blindspot"),
        "blindspot_feed": reverse("coverage:blindspot_rss"),
        "balance": reverse("coverage:balance"),
        "api_stories": stories,
        "api_stories_deep": f"{stories}?cursor={api_cursor(deep.published_at.isoformat())}",
        "api_stories_section": f"{stories}?section={section.slug}&since={since}",
        "api_outlets": reverse("api:outlet-list"),
        "api_outlet": reverse("api:outlet-detail", kwargs={"slug": outlet.slug}),
        "api_blindspots": reverse("api:blindspots"),
    }


def choose_pages() -> dict[str, str]:
    """The URLs measured, picked the same way at every size."""
    from django.db.models import Count, Exists, OuterRef
    from django.urls import reverse
    from django.utils import timezone

    from articles.models import Article, ArticleSource, Category, Source
    from articles.site import paging, sitemaps

    published = Article.objects.published()
    counts = dict(published.values_list("category").annotate(n=Count("id")).order_by())
    category = max(Category.objects.all(), key=lambda c: (counts.get(c.pk, 0), -c.position))
    in_section = published.filter(category=category).order_by("-published_at", "-pk")
    total = counts[category.pk]
    deep = in_section[int(total * 0.9)]
    num_pages = 1 + max(0, -(-(total - paging.PAGE_SIZE) // paging.PAGE_SIZE))
    section = reverse("articles:section", kwargs={"section": category.slug})
    # The generated story in the middle of the series is made with three citations, a rating and an
    # update time (so the page shows everything an article page can); without one, the newest story.
    has_three = Exists(ArticleSource.objects.filter(article=OuterRef("pk"), position=2))
    candidates = published.filter(slug__startswith="scale-", modified_at__isnull=False).filter(has_three)
    count = published.filter(slug__startswith="scale-").count()
    story = candidates.filter(slug__startswith=f"scale-{(count + 1) // 2}-").first()
    story = story or published.order_by("-published_at", "-pk").first()
    busiest = ArticleSource.objects.values("source").annotate(n=Count("id")).order_by("-n", "source").first()
    outlet = Source.objects.get(pk=busiest["source"])
    cited = published.filter(pk__in=ArticleSource.objects.filter(source=outlet).values("article_id"))
    cited = cited.order_by("-published_at", "-pk")
    cited_total = cited.count()
    outlet_deep = cited[int(cited_total * 0.9)]
    oldest = published.order_by("published_at", "pk").first()
    return {
        "home": reverse("articles:home"),
        "section": section,
        "section_deep": f"{section}?before={paging.encode_cursor(deep)}",
        "section_numbered": f"{section}?page={min(paging.MAX_NUMBERED_PAGE, num_pages)}",
        "article": story.get_absolute_url(),
        "source": outlet.get_absolute_url(),
        "source_deep": f"{outlet.get_absolute_url()}?before={paging.encode_cursor(outlet_deep)}",
        "feed": reverse("articles:feed_rss"),
        "sitemap_index": reverse("articles:sitemap_index"),
        "sitemap_first": sitemaps.month_path(timezone.now()),
        "sitemap_last": sitemaps.month_path(oldest.published_at),
        "news_sitemap": reverse("articles:news_sitemap"),
        **coverage_pages(published, outlet, category),
    }


def probe() -> dict:
    """Measure every page in this process; one JSON document goes to stdout."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    client = Client(**HEADERS)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class"
            " WHERE relkind = 'r' AND relname LIKE 'articles\\_%%'"
        )
        table_rows = dict(cursor.fetchall())
    big = {table for table, rows in table_rows.items() if rows > BIG_TABLE}
    urls = choose_pages()
    client.get("/healthz/live")  # the connection and the first-request set-up, not counted
    explained: dict[str, dict] = {}

    def explain(sql: str) -> dict:
        key = normalized(sql)
        if key not in explained:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
                plain = cursor.fetchone()[0]
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
                analysed = cursor.fetchone()[0]
            plain = plain if isinstance(plain, list) else json.loads(plain)
            analysed = analysed if isinstance(analysed, list) else json.loads(analysed)
            seq = sorted(
                {n["Relation Name"] for n in scans(plain[0]["Plan"]) if n["Node Type"] == "Seq Scan"}
            )
            seq = [table for table in seq if table.startswith("articles_")]
            explained[key] = {
                "sql": sql,
                "ms": analysed[0]["Execution Time"],
                "rows_read": sum(rows_read(node) for node in scans(analysed[0]["Plan"])),
                "seq_scans": seq,
                "big_seq_scans": [table for table in seq if table in big],
                "plan": "\n".join(plan_text(analysed[0]["Plan"])),
            }
        return explained[key]

    results = {}
    for name, url in urls.items():
        cache.clear()  # the cards, counts, fragments and content version: all computed anew
        with override_settings(NEWSAPP_FRAGMENT_CACHE=False), CaptureQueriesContext(connection) as cold:
            response = client.get(url)
        cold_queries = cold.captured_queries  # now: the next request resets the connection's log
        if response.status_code != 200:
            raise SystemExit(f"{name} ({url}) answered {response.status_code} from scratch")
        client.get(url)  # fills the fragments
        with CaptureQueriesContext(connection) as warm:
            response = client.get(url)
        warm_queries = warm.captured_queries
        if response.status_code != 200:
            raise SystemExit(f"{name} ({url}) answered {response.status_code} warm")
        timings = []
        deadline = time.perf_counter() + WARM_BUDGET
        while len(timings) < WARM_RUNS[0] or (len(timings) < WARM_RUNS[1] and time.perf_counter() < deadline):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        selects = [
            q["sql"] for q in [*cold_queries, *warm_queries]
            if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
        ]  # fmt: skip
        queries = list({id(found): found for found in map(explain, selects)}.values())
        warm_selects = [
            q["sql"] for q in warm_queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
        ]
        warm_sql_ms = sum(explain(sql)["ms"] for sql in warm_selects)
        results[name] = {
            "url": url,
            "cold": len(cold_queries),
            "warm": len(warm_queries),
            "cold_sql": [q["sql"] for q in cold_queries],
            "warm_sql": [q["sql"] for q in warm_queries],
            "warm_ms": statistics.median(timings),
            "warm_sql_ms": warm_sql_ms,
            "renders": len(timings),
            "queries": queries,
        }
    return {"postgres": server_version, "table_rows": table_rows, "big": sorted(big), "pages": results}
