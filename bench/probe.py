"""In-process measurements for bench/run.py, run with the benchmark's environment.

    python bench/probe.py state              -> {"articles": N, "published": N, "article_url": ...,
                                                 "outlet_url": ..., ...}
    python bench/probe.py queries URL...     -> {URL: {"first": {...}, "second": {...}, "ms": 12.3}}

`queries` asks for each page twice through Django's test client, counting the SQL queries of each
answer: with the page cache off both are full renders; with it on (NEWSAPP_PAGE_CACHE_SECONDS > 0)
the first is a miss and the second should be a hit that runs none. Then the median time of a few more
answers, in-process ("ms", the median). One JSON document goes to stdout.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from articles.models import Article, Source  # noqa: E402

HOST = "127.0.0.1"


def state() -> dict:
    published = Article.objects.published().select_related("category")
    newest = published.order_by("-published_at", "-pk").first()
    # The outlet page measured: the most cited outlet's, the longest list of stories an outlet has.
    outlet = Source.objects.annotate(cited=Count("citations")).order_by("-cited", "pk").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "SHOW server_version" if connection.vendor == "postgresql" else "SELECT sqlite_version()"
        )
        (server_version,) = cursor.fetchone()
    return {
        "articles": Article.objects.count(),
        "published": published.count(),
        "article_url": newest.get_absolute_url() if newest else None,
        "outlet_url": outlet.get_absolute_url() if outlet else None,
        "database": f"{connection.vendor} {server_version}",
    }


def queries(urls: list[str], budget: float = 0.25, most: int = 50) -> dict:
    client = Client(HTTP_HOST=HOST)
    results = {}
    for url in urls:
        answers = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            answers.append(
                {
                    "status": response.status_code,
                    "queries": len(captured.captured_queries),
                    # Search results pages are kept by the search view itself (X-Search-Cache), the
                    # API's answers by the API (X-Api-Cache, looked up after its rate limit).
                    "page_cache": response.headers.get("X-Page-Cache")
                    or response.headers.get("X-Search-Cache")
                    or response.headers.get("X-Api-Cache"),
                }
            )
        first, second = answers
        # What one more answer costs in this process, warm: no server, no network. At least 5 answers,
        # more for cheap pages (up to `most`, or `budget` seconds).
        timings = []
        deadline = time.perf_counter() + budget
        while len(timings) < 5 or (len(timings) < most and time.perf_counter() < deadline):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        results[url] = {"first": first, "second": second, "ms": statistics.median(timings)}
    return results


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("state", "queries"):
        print(__doc__, file=sys.stderr)
        return 2
    result = state() if argv[0] == "state" else queries(argv[1:])
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
