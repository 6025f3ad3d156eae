"""Wire copies found as pieces arrive: a near-identical text from another outlet in the same story
candidate is marked a copy of the earliest one, whichever feed is read first, and counted once."""

from datetime import timedelta

import pytest

from newsdesk import ingest
from newsdesk.fetching.robots import robots_clear
from newsdesk.models import Feed, Piece
from tests.factories import SourceFactory
from tests.newsdesk.ingest_site import START, feed_item, page, rss
from tests.newsdesk.servers import Reply, serve
from tests.newsdesk.wire_texts import COPY, SAME_EVENT, WIRE

pytestmark = pytest.mark.django_db

TITLE = "Monchique wildfire brought under control"


@pytest.fixture(autouse=True)
def fetching(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    robots_clear()
    yield
    robots_clear()


def outlet_site(name: str, text: str, *, hours: float) -> dict:
    """An outlet's feed at /<name>.xml with one piece at /<name>/fire, published `hours` after START."""
    item = feed_item(f"/{name}/fire", TITLE, text.split(". ")[0], published=START + timedelta(hours=hours))
    return {
        f"/{name}.xml": Reply(body=rss([item]), content_type="application/rss+xml"),
        f"/{name}/fire": Reply(body=page(TITLE, text), content_type="text/html; charset=utf-8"),
    }


def fetch_in_order(server, *names):
    reports = []
    for name in names:
        feed = Feed.objects.create(
            outlet=SourceFactory(slug=name, domain=f"{name}.example"), url=server.url(f"/{name}.xml")
        )
        reports.append(ingest.fetch_feed(feed))
        assert reports[-1].new_pieces == 1
    return [report.copies for report in reports]


def piece(name):
    return Piece.objects.get(outlet__slug=name)


def test_a_later_copy_is_marked_and_another_outlets_own_piece_is_not():
    routes = outlet_site("wire", WIRE, hours=0) | outlet_site("daily", COPY, hours=1)
    routes |= outlet_site("courier", SAME_EVENT, hours=0.5)
    with serve(routes) as server:
        assert fetch_in_order(server, "wire", "daily", "courier") == [0, 1, 0]
    wire, daily, courier = piece("wire"), piece("daily"), piece("courier")
    assert daily.candidate_id == wire.candidate_id
    assert (wire.copy_of, daily.copy_of, courier.copy_of) == (None, wire, None)
    # Counted once: the wire and the daily are one voice.
    wire.candidate.refresh_from_db()
    outlets = 1 + (courier.candidate_id == wire.candidate_id)
    assert wire.candidate.outlets_count == outlets


def test_an_original_read_after_its_copies_becomes_their_original():
    routes = outlet_site("wire", WIRE, hours=0) | outlet_site("daily", COPY, hours=1)
    routes |= outlet_site("gazette", COPY, hours=2)
    with serve(routes) as server:
        assert fetch_in_order(server, "daily", "gazette") == [0, 1]
        assert piece("gazette").copy_of == piece("daily")
        assert fetch_in_order(server, "wire") == [0]  # the original, not a copy
    wire = piece("wire")
    assert wire.copy_of is None
    assert (piece("daily").copy_of, piece("gazette").copy_of) == (wire, wire)
    wire.candidate.refresh_from_db()
    assert wire.candidate.outlets_count == 1


def test_the_same_outlet_repeating_itself_is_no_copy():
    routes = outlet_site("wire", WIRE, hours=0)
    item = feed_item("/wire/fire-again", TITLE, "Again", published=START + timedelta(hours=1))
    routes["/wire.xml"] = Reply(
        body=rss([item, *[feed_item("/wire/fire", TITLE, "x", published=START)]]),
        content_type="application/rss+xml",
    )
    routes["/wire/fire-again"] = routes["/wire/fire"]
    with serve(routes) as server:
        feed = Feed.objects.create(outlet=SourceFactory(slug="wire"), url=server.url("/wire.xml"))
        report = ingest.fetch_feed(feed)
    assert (report.new_pieces, report.copies) == (2, 0)
    assert not Piece.objects.exclude(copy_of=None).exists()
