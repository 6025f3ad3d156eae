"""Every API endpoint runs a fixed number of queries at 100 and at 30,000 stories; the downloads read
a chunk at a time in bounded memory; on PostgreSQL every query uses an index (EXPLAIN). The 30,000
stories are tests/scale/test_ten_years.py's, with the same checks."""

import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.datasets import CHUNK
from tests.scale.archive import EVERY_THREE_HOURS, Archive, build_archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_settings(settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # every query of an answer made from scratch
    settings.NEWSAPP_API_RATE = "10000/min"
    return settings


def api_urls(archive: Archive, client) -> dict[str, str]:
    story, outlet = archive.story(1), archive.outlet(0)
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


def check_endpoints(client, archive: Archive) -> None:
    """Each endpoint's QUERIES; each download's queries a few per chunk, and stories.json's memory."""
    for name, url in api_urls(archive, client).items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (name, response.content[:300])
        assert len(captured) == QUERIES[name], (name, [q["sql"][:200] for q in captured])
    chunks = -(-archive.size // CHUNK)
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


def test_queries_per_endpoint_are_fixed_and_downloads_read_a_chunk_at_a_time(client, api_settings):
    check_endpoints(client, build_archive(stories=100, spacing=EVERY_THREE_HOURS))
