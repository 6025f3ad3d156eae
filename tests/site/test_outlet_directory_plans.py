"""On PostgreSQL, with 10,000 outlets and 30,000 stories, every query of the outlet directory and of
an outlet's page reads an index (EXPLAIN), and none reads more than a bounded number of rows."""

import random
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, ArticleSource, Category, Source, SourceRating
from tests.site.test_query_plans import SCANS, explain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

OUTLETS = 10_000
STORIES = 30_000
BIG_TABLES = {"articles_source", "articles_sourcerating", "articles_articlesource", "articles_article"}
# Per query. The directory's page reads its 50 outlets (and, at page 40, the 1,950 before them on the
# name index), their ratings and their citations of the last 30 days.
MAX_ROWS_READ = 4_000
EVERY_OUTLET_COUNT = 'SELECT COUNT(*) AS "__count" FROM "articles_source"'


def scans(node, found=None):
    """(node type, table, rows read) of every scan of a big table in a plan run with ANALYZE."""
    found = [] if found is None else found
    if node.get("Node Type") in SCANS and node.get("Relation Name") in BIG_TABLES:
        rows = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        rows *= node.get("Actual Loops", 1)
        found.append((node["Node Type"], node["Relation Name"], rows))
    for child in node.get("Plans", []):
        scans(child, found)
    return found


@pytest.fixture
def big_directory(settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    rng = random.Random(13)
    leans = [value for value, _ in Source.Lean.choices]
    outlets = Source.objects.bulk_create(
        Source(
            name=f"Outlet {rng.randrange(10**6):06d} {i}",
            slug=f"big-{i}",
            domain=f"big{i}.example",
            homepage="https://big.example/",
            bias=leans[i % len(leans)],
            country=["GB", "US", "DE", "IN", ""][i % 5],
        )
        for i in range(OUTLETS)
    )
    SourceRating.objects.bulk_create(
        SourceRating(source=s, lean=lean, effective_from=day, method="Review")
        for s in outlets
        for lean, day in (("center", date(2016, 3, 1)), ("lean_left", date(2023, 9, 1)))
    )
    sections = list(Category.objects.all())
    now = timezone.now()
    stories = Article.objects.bulk_create(
        Article(
            title=f"Story {i}",
            slug=f"story-{i}",
            category=sections[i % len(sections)],
            summary="Text.",
            summary_html="<p>Text.</p>",
            status=Article.Status.PUBLISHED if i % 50 else Article.Status.DRAFT,
            published_at=now - timedelta(hours=3 * i + 1),  # ten years; about 240 in the last 30 days
        )
        for i in range(STORIES)
    )
    # Most citations go to a few big outlets, as in life: the directory's counts must not read them all.
    popular = outlets[:20]
    ArticleSource.objects.bulk_create(
        ArticleSource(article=story, source=outlet, url=f"https://x.example/{story.pk}/{n}", position=n)
        for story in stories
        for n, outlet in enumerate([rng.choice(popular), rng.choice(outlets), rng.choice(outlets)])
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"big": popular[0]}


def test_every_directory_query_reads_an_index_and_few_rows(client, big_directory):
    big = big_directory["big"]
    urls = {
        "directory": reverse("articles:sources"),
        "directory, page 40": reverse("articles:sources") + "?page=40",
        "directory, left": reverse("articles:sources") + "?lean=left",
        "directory, right, page 5": reverse("articles:sources") + "?lean=right&page=5",
        "a much cited outlet": big.get_absolute_url(),
    }
    problems = []
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, name
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            if sql == EVERY_OUTLET_COUNT:
                # Reads every outlet (10,000 rows, under a few milliseconds), once per content
                # version: it is kept in the cache (articles.site.paging.cached_count).
                continue
            found = scans(explain(sql, analyze=True)[0]["Plan"])
            for kind, table, rows in found:
                if kind == "Seq Scan":
                    problems.append(f"{name}: sequential scan of {table} in {sql[:300]}")
                if rows > MAX_ROWS_READ:
                    problems.append(f"{name}: reads {rows} rows of {table} in {sql[:300]}")
    assert not problems, "\n".join(problems)
