"""Every API endpoint runs a fixed number of queries at 100 and at 30,000 stories; the downloads read
a chunk at a time in bounded memory; on PostgreSQL every query uses an index (EXPLAIN)."""

import random
import tracemalloc
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.datasets import CHUNK
from articles.models import Article, ArticleSource, BiasRating, Category
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


def build_archive(n: int) -> dict:
    """n stories (one in 50 a draft), two sources each, half with a balance (bulk_create: seconds)."""
    rng = random.Random(7)
    sections = list(Category.objects.all())
    outlets = [SourceFactory(bias=lean) for lean in ["left", "center", "right", "lean_left"] * 3]
    now = timezone.now()
    stories = Article.objects.bulk_create(
        Article(
            title=f"Archive story {i}", slug=f"archive-story-{i}", category=sections[i % len(sections)],
            summary="Text.", summary_html="<p>Text.</p>",
            status=Article.Status.PUBLISHED if i % 50 else Article.Status.DRAFT,
            published_at=now - timedelta(hours=3 * i + 1),
        )
        for i in range(n)
    )  # fmt: skip
    ArticleSource.objects.bulk_create(
        ArticleSource(article=story, source=outlet, url=f"https://x.example/{story.pk}/{k}", position=k)
        for story in stories
        for k, outlet in enumerate(rng.sample(outlets, 2))
    )
    BiasRating.objects.bulk_create(
        BiasRating(article=s, left=30, center=40, right=30, outlets_left=3, outlets_center=4, outlets_right=3)
        for s in stories[::2]
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"story": stories[1], "outlet": outlets[0], "deep": stories[n - 20], "n": n}


@pytest.fixture(params=[100, 30_000], ids=["100-stories", "30000-stories"])
def archive(request, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # every query of an answer made from scratch
    settings.NEWSAPP_API_RATE = "10000/min"
    return build_archive(request.param)


def api_urls(archive, client) -> dict[str, str]:
    story, outlet = archive["story"], archive["outlet"]
    second_page = client.get("/api/v1/stories/?page_size=20").json()["next"]
    return {
        "stories": "/api/v1/stories/",
        "stories, a later page": second_page,
        "stories by section": f"/api/v1/stories/?section={story.category.slug}",
        "stories by outlet": f"/api/v1/stories/?outlet={outlet.slug}&since=2020-01-01",
        "stories by lean": "/api/v1/stories/?lean=left&until=2030-01-01",
        "story": f"/api/v1/stories/{story.pk}/",
        "sections": "/api/v1/sections/",
        "outlets": "/api/v1/outlets/?lean=left",
        "outlet": f"/api/v1/outlets/{outlet.slug}/",
        "blindspots": "/api/v1/blindspots/",
    }


# The time of the next scheduled story (how long an answer is good for) is read once per content
# version and kept in the cache: api_urls' first request has paid for it.
QUERIES = {
    # 1 the page of stories with section and balance  2 their citations with outlets
    "stories": 2,
    "stories, a later page": 2,
    "stories by section": 3,  # 3 the section named
    "stories by outlet": 3,  # 3 the outlet named
    "stories by lean": 2,
    "story": 2,
    "sections": 1,
    "outlets": 2,  # 1 outlets  2 their ratings
    "outlet": 2,
    # 1 recent stories with enough outlets  2 their sections' daily tallies
    "blindspots": 2,
}


def test_queries_per_endpoint_are_fixed_and_downloads_read_a_chunk_at_a_time(client, archive):
    """(One test per archive size: building 30,000 stories is most of its time.)"""
    for name, url in api_urls(archive, client).items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (name, response.content[:300])
        assert len(captured) == QUERIES[name], (name, [q["sql"][:200] for q in captured])
    chunks = -(-archive["n"] // CHUNK)
    for name in ["stories.csv", "stories.json", "outlets.csv", "outlets.json"]:
        traced = name == "stories.json"  # tracing every allocation is slow: the largest file alone
        with CaptureQueriesContext(connection) as captured:
            if traced:
                tracemalloc.start()
            response = client.get(f"/api/v1/downloads/{name}")
            size = sum(len(piece) for piece in response.streaming_content)
            if traced:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                # A chunk's rows at a time: the peak stays a few MB whatever the archive's size.
                assert peak < 8_000_000, (name, peak, size)
        # The newest live story's time (the ETag) for stories; the rows; each chunk's citations or ratings.
        assert len(captured) <= 1 + 2 * chunks, name


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_api_query_uses_an_index(client, settings):
    from tests.site.test_query_plans import MAX_ROWS_READ, explain, rows_read, seq_scans

    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_API_RATE = "10000/min"
    archive = build_archive(30_000)
    with connection.cursor() as cursor:
        # As autovacuum leaves a live table: statistics, and the visibility map that lets the blindspots'
        # tallies read the ratings from their index alone (VACUUM needs autocommit: a committing test).
        cursor.execute("VACUUM ANALYZE")
    problems = []
    for name, url in api_urls(archive, client).items():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, name
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            if scans := seq_scans(explain(sql)[0]["Plan"]):
                problems.append(f"{name}: sequential scan of {scans} in {sql[:300]}")
            if (read := rows_read(explain(sql, analyze=True)[0]["Plan"])) > MAX_ROWS_READ:
                problems.append(f"{name}: reads {read} rows in {sql[:300]}")
    assert not problems, "\n".join(problems)
