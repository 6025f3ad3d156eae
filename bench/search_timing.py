"""Search latency and per-page query counts against the configured database.

    DATABASE_URL=postgres://... .venv/bin/python bench/search_timing.py [--queries 20]

Runs the site's search (the same code as /search/?q=) for a fixed list of reader-like queries and
prints the median and worst time of one results page (the page of results plus its count), then the
number of SQL queries of each public page, rendered with the page cache off. For the issue notes and
docs/performance.md; not a test.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

QUERIES = [
    "harbour", "river treaty", '"river treaty"', "budget vote", "exchange licence", "title race",
    "ferry strike", "central bank rates", "stablecoin", "steelworks rescue", "tidemark -exchange",
    "election OR referendum", "port authority", "council housing", "league transfer", "solar",
    "border talks", "audit rules", "water sharing plan", "coalition",
]  # fmt: skip


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=20, help="how many of the built-in queries to run")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from articles import search, sitemaps
    from articles.models import Article, Source

    total = Article.objects.count()
    print(f"{connection.vendor}, {total:,} stories ({Article.objects.published().count():,} published)")
    timings = []
    for query in QUERIES[: args.queries]:
        started = time.perf_counter()
        results = search.search(query)
        page = list(results[:20])
        count = results.count()
        timings.append((time.perf_counter() - started) * 1000)
        print(f"  {query!r:28} {count:6,} results, first page in {timings[-1]:7.1f} ms ({len(page)} shown)")
    print(f"search: p50 {statistics.median(timings):.1f} ms, worst {max(timings):.1f} ms over {len(timings)}")

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
    with override_settings(NEWSAPP_PAGE_CACHE_SECONDS=0, ALLOWED_HOSTS=["*"]):
        for name, url in pages.items():
            client.get(url)
            with CaptureQueriesContext(connection) as captured:
                status = client.get(url).status_code
            print(f"  {name:14} {status}  {len(captured.captured_queries)} queries  {url}")


if __name__ == "__main__":
    main()
