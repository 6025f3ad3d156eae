"""Every test that reads the ten-year archive (tests/scale/archive.py: 30,000 stories three hours apart,
so that a 30-day window holds 240 of them, and 10,000 outlets), built once for this module: the pages'
and the API's query counts are those they have at 100 stories, and on PostgreSQL every query reads
an index and a bounded number of rows (EXPLAIN ANALYZE)."""

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Article, ArticleSource, Category
from articles.site import paging, sitemaps
from tests.api.test_queries import api_urls, check_endpoints
from tests.coverage.test_balance_pages import BALANCE, section_url
from tests.coverage.test_blindspot_pages import QUERIES as BLINDSPOT_QUERIES
from tests.coverage.test_blindspot_pages import check_blindspot_queries
from tests.scale.plans import page_problems, plan_problems

# Each xdist worker that runs some of the module builds the archive once: both, with make test's -n auto
# (--dist load); one, with --dist loadgroup.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("ten-years")]

# The pages, the API, the balance. Per query. A section holds 6,000 stories here and the archive 30,000,
# so reading either whole fails. The numbered pages' count stops at 501 stories, but the planner may
# find them by walking the site-wide index and skipping other sections (about 2,500 rows with five
# sections): bounded too.
SITE = {"tables": {"articles_article", "articles_articlesource", "articles_biasrating"}, "max_rows": 4_000}
# The blindspots. Per query: the window's stories (about 300 here), never the archive's 30,000.
BLINDSPOTS = {"tables": {"articles_article", "articles_biasrating"}, "max_rows": 4_000}
# The outlet directory and an outlet's page. Per scan: a page of the directory reads its 50 outlets
# (and, at page 40, the 1,950 before them on the name index), their ratings and their citations of
# the last 30 days.
DIRECTORY = {
    "tables": {"articles_source", "articles_sourcerating", "articles_articlesource", "articles_article"},
    "max_rows": 4_000,
    "per_scan": True,
    # Reads every outlet (10,000 rows, under a few milliseconds), once per content version: it is kept
    # in the cache (articles.site.paging.cached_count).
    "skip": {'SELECT COUNT(*) AS "__count" FROM "articles_source"'},
}


def no_problems(problems: list[str]) -> None:
    assert not problems, "\n".join(problems)


@pytest.mark.postgres
def test_every_public_query_uses_an_index(client, settings, ten_years):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    story, outlet = ten_years.story(1), ten_years.outlet(0)
    deep = paging.encode_cursor(ten_years.story(ten_years.size - 200))
    section = reverse("articles:section", kwargs={"section": story.category.slug})
    urls = {
        "home": reverse("articles:home"),
        "section": section,
        "deep section": f"{section}?before={deep}",
        "article": story.get_absolute_url(),
        "source": outlet.get_absolute_url(),
        "feed": reverse("articles:feed_rss"),
        "section feed": reverse("articles:section_feed_rss", kwargs={"section": story.category.slug}),
        "sitemap, this month": sitemaps.month_path(story.published_at),
        "sitemap, the oldest month": sitemaps.month_path(ten_years.story(-1).published_at),
        "sections sitemap": reverse("articles:sitemap", kwargs={"section": "sections"}),
        "sitemap index": reverse("articles:sitemap_index"),
        "news sitemap": reverse("articles:news_sitemap"),
    }
    no_problems(page_problems(client, urls, **SITE))


@pytest.mark.postgres
def test_page_query_counts_do_not_grow_with_the_archive(
    client, settings, ten_years, django_assert_num_queries
):
    """The counts of tests/site/test_query_counts.py's few stories."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False  # every query of a render from scratch
    story = ten_years.story(1)
    deep = paging.encode_cursor(ten_years.story(ten_years.size - 200))
    section = reverse("articles:section", kwargs={"section": story.category.slug})
    for url, expected in [
        (reverse("articles:home"), 3),
        (section, 5),  # the section's balance: one query (coverage_tags.section_balance)
        (f"{section}?before={deep}", 4),
        (story.get_absolute_url(), 5),
        (reverse("articles:feed_rss"), 1),
        (reverse("articles:sitemap_index"), 4),
        (sitemaps.month_path(story.published_at), 1),
        (sitemaps.month_path(ten_years.story(-1).published_at), 1),
    ]:
        with django_assert_num_queries(expected):
            assert client.get(url).status_code == 200


@pytest.mark.postgres
def test_every_directory_query_reads_an_index_and_few_rows(client, settings, ten_years):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    directory = reverse("articles:sources")
    urls = {
        "directory": directory,
        "directory, page 40": f"{directory}?page=40",
        "directory, left": f"{directory}?lean=left",
        "directory, right, page 5": f"{directory}?lean=right&page=5",
        # One of the few outlets most stories cite, as in life: the counts must not read them all.
        "a much cited outlet": ten_years.outlet(0).get_absolute_url(),
    }
    no_problems(page_problems(client, urls, **DIRECTORY))


def test_api_queries_are_fixed_and_downloads_read_a_chunk_at_a_time(client, settings, ten_years):
    """tests/api/test_queries.py's checks, at 30,000 stories."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_API_RATE = "10000/min"
    check_endpoints(client, ten_years)


@pytest.mark.postgres
def test_every_api_query_uses_an_index(client, settings, ten_years):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_API_RATE = "10000/min"
    no_problems(page_problems(client, api_urls(ten_years, client), **SITE))


@pytest.mark.postgres
def test_every_balance_query_uses_an_index(client, settings, ten_years):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    source = ArticleSource.objects.first().source
    problems = page_problems(client, {"balance": BALANCE, "section": section_url("world")}, **SITE)
    with CaptureQueriesContext(connection) as captured:
        Template("{% load coverage_tags %}{% outlet_section_shares source %}").render(
            Context({"source": source})
        )
    (shares,) = captured.captured_queries
    problems += plan_problems("outlet shares", [shares], tables=SITE["tables"], max_rows=None)
    no_problems(problems)
    assert Article.objects.count() == 30_000 and Category.objects.count() >= 5


def test_blindspot_queries_are_fixed_whatever_the_archive(
    client, settings, ten_years, django_assert_num_queries
):
    """tests/coverage/test_blindspot_pages.py's checks, at 30,000 stories."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    check_blindspot_queries(client, django_assert_num_queries)


@pytest.mark.postgres
def test_every_blindspot_query_uses_an_index(client, settings, ten_years):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    no_problems(page_problems(client, {name: reverse(name) for name in BLINDSPOT_QUERIES}, **BLINDSPOTS))
