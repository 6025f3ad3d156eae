"""On PostgreSQL, with enough rows that the planner would otherwise scan, every query of every public
page uses an index (checked with EXPLAIN), and the counts stay those of a small site."""

import json
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, ArticleSource, BiasRating, Category
from articles.site import paging, sitemaps
from tests.factories import SourceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROWS = 30_000
BIG_TABLES = {"articles_article", "articles_articlesource", "articles_biasrating"}


@pytest.fixture
def big_archive(settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    rng = random.Random(7)
    sections = list(Category.objects.all())
    outlets = [SourceFactory(bias=lean) for lean in ["left", "center", "right", "lean_left"] * 3]
    now = timezone.now()
    stories = Article.objects.bulk_create(
        Article(
            title=f"Archive story {i}",
            slug=f"archive-story-{i}",
            category=sections[i % len(sections)],
            summary="Text.",
            summary_html="<p>Text.</p>",
            status=Article.Status.PUBLISHED if i % 50 else Article.Status.DRAFT,
            # Three hours apart: ten years, so the sitemap index spans about 125 months.
            published_at=now - timedelta(hours=3 * i + 1),
            featured=i % 997 == 0,
        )
        for i in range(ROWS)
    )
    ArticleSource.objects.bulk_create(
        ArticleSource(article=story, source=outlet, url=f"https://x.example/{story.pk}/{n}", position=n)
        for story in stories
        for n, outlet in enumerate(rng.sample(outlets, 2))
    )
    BiasRating.objects.bulk_create(BiasRating(article=s, left=30, center=40, right=30) for s in stories[::2])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"story": stories[1], "outlet": outlets[0], "deep": stories[ROWS - 200], "oldest": stories[-1]}


def seq_scans(node, found=None):
    found = [] if found is None else found
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
        found.append(node["Relation Name"])
    for child in node.get("Plans", []):
        seq_scans(child, found)
    return found


SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
# Per query. A section holds 6,000 stories here and the archive 30,000, so reading either whole fails.
# The numbered pages' count stops at 501 stories, but the planner may find them by walking the
# site-wide index and skipping other sections (about 2,500 rows with five sections): bounded too.
MAX_ROWS_READ = 4_000


def rows_read(node) -> int:
    """Rows a plan's scans took from the big tables, those its filters threw away included."""
    total = 0
    if node.get("Node Type") in SCANS and node.get("Relation Name") in BIG_TABLES:
        loops = node.get("Actual Loops", 1)
        total += (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
    return total + sum(rows_read(child) for child in node.get("Plans", []))


def explain(sql, analyze=False):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) {sql}")
        row = cursor.fetchone()[0]
    return row if isinstance(row, list) else json.loads(row)


def test_every_public_query_uses_an_index(client, big_archive):
    story, outlet = big_archive["story"], big_archive["outlet"]
    deep = paging.encode_cursor(big_archive["deep"])
    urls = {
        "home": reverse("articles:home"),
        "section": reverse("articles:section", kwargs={"section": story.category.slug}),
        "deep section": reverse("articles:section", kwargs={"section": story.category.slug})
        + f"?before={deep}",
        "article": story.get_absolute_url(),
        "source": outlet.get_absolute_url(),
        "feed": reverse("articles:feed_rss"),
        "section feed": reverse("articles:section_feed_rss", kwargs={"section": story.category.slug}),
        "sitemap, this month": sitemaps.month_path(story.published_at),
        "sitemap, the oldest month": sitemaps.month_path(big_archive["oldest"].published_at),
        "sections sitemap": reverse("articles:sitemap", kwargs={"section": "sections"}),
        "sitemap index": reverse("articles:sitemap_index"),
        "news sitemap": reverse("articles:news_sitemap"),
    }
    problems = []
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, name
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            scans = seq_scans(explain(sql)[0]["Plan"])
            if scans:
                problems.append(f"{name}: sequential scan of {scans} in {sql[:300]}")
            read = rows_read(explain(sql, analyze=True)[0]["Plan"])
            if read > MAX_ROWS_READ:
                problems.append(f"{name}: reads {read} rows in {sql[:300]}")
    assert not problems, "\n".join(problems)


def test_query_counts_do_not_grow_with_the_archive(client, big_archive, django_assert_num_queries, settings):
    settings.NEWSAPP_FRAGMENT_CACHE = False  # every query of a render from scratch
    story = big_archive["story"]
    deep = paging.encode_cursor(big_archive["deep"])
    section = reverse("articles:section", kwargs={"section": story.category.slug})
    for url, expected in [
        (reverse("articles:home"), 3),
        (section, 5),  # the section's balance: one query (coverage_tags.section_balance)
        (f"{section}?before={deep}", 4),
        (story.get_absolute_url(), 5),
        (reverse("articles:feed_rss"), 1),
        (reverse("articles:sitemap_index"), 4),
        (sitemaps.month_path(story.published_at), 1),
        (sitemaps.month_path(big_archive["oldest"].published_at), 1),
    ]:
        with django_assert_num_queries(expected):
            assert client.get(url).status_code == 200
