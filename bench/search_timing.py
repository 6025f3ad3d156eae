"""Search latency, one search at a time and uncached, against the configured database.

    DATABASE_URL=postgres://... .venv/bin/python bench/search_timing.py [--runs 15] [--json]

Asks for the first results page of reader-like queries of three kinds (broad words, rare words,
several words and operators) through Django's test client: the whole view (the query read, the
ranked matches, the page's stories and headlines, the template), with the results cache off
(NEWSAPP_PAGE_CACHE_SECONDS=0 is set here), one request at a time, the queries taking turns so that
a change in the machine's load is spread over all of them. Prints each query's matches and median
time, then the median (p50) and 99th percentile (p99) of every timed request of each kind; `--json`
prints the same as one JSON document (for bench/search_load.py, `make bench-search`). Then, without
--json, the SQL queries of each public page. For docs/performance.md; not a test.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

QUERIES = {
    "broad": [
        "harbour", "officials", "budget", "rules", "league", "exchange", "river", "stablecoin",
        "solar", "wallet",
    ],
    "rare": [
        "norvane", "steelworks", "tidemark", "drennick", "cyclone", "mortgage", "turbine", "drought",
        "glacier", "referendum",
    ],
    "multi-word": [
        "winter timetable", "coalition whips", '"river commission"', "port authorities budget",
        "harbour OR river", "audit rules -harbour", "exchange regulator licensing",
        "tidemark withdrawals", "bank of norvane", "revised budget vote",
    ],
}  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.99: the value 99 % of the requests took at most)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def measure(runs: int) -> dict:
    from django.test import Client
    from django.urls import reverse

    from articles.site import search

    client = Client(HTTP_HOST="127.0.0.1")
    url = reverse("articles:search")
    found = {}
    for kind, queries in QUERIES.items():
        for query in queries:
            response = client.get(url, {"q": query})  # warm-up, and a check
            if response.status_code != 200:
                raise SystemExit(f"search for {query!r} answered {response.status_code}")
            matches = search.matches(search.parse_query(query))
            found[query] = {"kind": kind, "matches": len(matches.ids), "more": matches.more, "ms": []}
    for _ in range(runs):
        for query, entry in found.items():
            started = time.perf_counter()
            client.get(url, {"q": query})
            entry["ms"].append((time.perf_counter() - started) * 1000)
    kinds = {}
    for kind in QUERIES:
        timings = [ms for entry in found.values() if entry["kind"] == kind for ms in entry["ms"]]
        kinds[kind] = {"p50": statistics.median(timings), "p99": percentile(timings, 0.99), "n": len(timings)}
    every = [ms for entry in found.values() for ms in entry["ms"]]
    kinds["all"] = {"p50": statistics.median(every), "p99": percentile(every, 0.99), "n": len(every)}
    return {"queries": found, "kinds": kinds, "candidates": search.CANDIDATES}


def page_queries() -> None:
    """The SQL queries of each public page, rendered with the page cache off."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from articles.models import Article, Source
    from articles.site import sitemaps

    story = Article.objects.published().select_related("category").first()
    outlet = Source.objects.first()
    pages = {
        "home": reverse("articles:home"),
        "section": reverse("articles:section", kwargs={"section": story.category.slug}),
        "article": story.get_absolute_url(),
        "source": outlet.get_absolute_url(),
        "search": reverse("articles:search") + "?q=harbour",
        "feed": reverse("articles:feed_rss"),
        "section feed": reverse("articles:section_feed_rss", kwargs={"section": story.category.slug}),
        "sitemap index": reverse("articles:sitemap_index"),
        "sitemap page": sitemaps.month_path(story.published_at),
        "news sitemap": reverse("articles:news_sitemap"),
    }
    client = Client()
    with override_settings(ALLOWED_HOSTS=["*"]):
        for name, url in pages.items():
            client.get(url)
            with CaptureQueriesContext(connection) as captured:
                status = client.get(url).status_code
            print(f"  {name:14} {status}  {len(captured.captured_queries)} queries  {url}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="timed requests per query (default 15)")
    parser.add_argument("--json", action="store_true", help="print one JSON document, nothing else")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")
    os.environ["NEWSAPP_PAGE_CACHE_SECONDS"] = "0"  # every request searches: nothing is kept
    import django

    django.setup()
    from django.db import connection

    from articles.models import Article

    report = measure(args.runs)
    report["stories"] = Article.objects.count()
    report["database"] = connection.vendor
    if args.json:
        print(json.dumps(report))
        return
    stories, ranked = report["stories"], report["candidates"]
    print(f"{connection.vendor}, {stories:,} stories; the newest {ranked} matches ranked")
    for query, entry in report["queries"].items():
        count = f"{entry['matches']}{'+' if entry['more'] else ''}"
        median = statistics.median(entry["ms"])
        print(f"  {entry['kind']:10} {query!r:32} {count:>5} matches  {median:7.1f} ms")
    for kind, figures in report["kinds"].items():
        p50, p99, n = figures["p50"], figures["p99"], figures["n"]
        print(f"{kind:10} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({n} requests)")
    page_queries()


if __name__ == "__main__":
    main()
