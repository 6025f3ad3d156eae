"""A feed fetched into pieces end to end over a local server: new pieces with their pages' text,
the same URL stored once, 304, broken feeds recorded with a backoff while the others are fetched,
the lease, and a crash mid-feed that leaves whole pieces only."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk import grouping, ingest, polling
from newsdesk.feeds import FeedItem
from newsdesk.fetching.robots import robots_clear
from newsdesk.models import Feed, Piece, Summary
from newsdesk.pieces import canonical_url, fingerprint
from tests.factories import SourceFactory
from tests.newsdesk.ingest_site import STORIES, feed_item, page, rss, site
from tests.newsdesk.servers import Reply, serve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fetching(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True  # the servers are on 127.0.0.1
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    robots_clear()
    yield
    robots_clear()


def feed_for(server, path="/feed.xml", **fields):
    return Feed.objects.create(outlet=SourceFactory(), url=server.url(path), **fields)


def requested(server, prefix):
    return [seen.path for seen in server.requests if seen.path.startswith(prefix)]


def test_new_items_become_pieces_read_from_their_pages():
    routes = site(feed_headers={"ETag": '"v1"', "Last-Modified": "Wed, 04 Mar 2026 06:00:00 GMT"})
    with serve(routes) as server:
        feed = feed_for(server)
        report = ingest.fetch_feed(feed)
    assert (report.status, report.http_status, report.items, report.new_pieces) == ("ok", 200, 5, 5)
    assert (report.from_feed_text, report.error) == (0, "")
    tram = Piece.objects.get(url=server.url("/news/tram"))  # the tracking parameter is gone
    title, text = STORIES["tram"]
    assert (tram.title, tram.outlet, tram.feed) == (title, feed.outlet, feed)
    assert tram.extraction == Piece.Extraction.PAGE
    # The page's text, a paragraph a line (not the feed's first sentence, nor the headline and footer).
    assert tram.text == "\n".join(f"{sentence}." for sentence in text.rstrip(".").split(". "))
    assert tram.language == "en-gb"
    assert tram.fingerprint == fingerprint(tram.text) != 0
    assert tram.candidate is not None and tram.copy_of is None
    assert set(Piece.objects.values_list("pk", flat=True)) == set(report.pieces)
    # Each touched candidate got its summary.
    candidates = {piece.candidate_id for piece in Piece.objects.all()}
    assert set(Summary.objects.values_list("candidate", flat=True)) == candidates
    feed.refresh_from_db()
    assert (feed.last_status, feed.last_http_status, feed.last_error, feed.error_count) == ("ok", 200, "", 0)
    assert (feed.items_seen, feed.pieces_added, feed.leased_until) == (5, 5, None)
    assert (feed.etag, feed.last_modified_header) == ('"v1"', "Wed, 04 Mar 2026 06:00:00 GMT")
    # Items an hour apart: fetched every half hour.
    assert feed.poll_interval == timedelta(minutes=30)
    assert feed.next_fetch_at == report.next_fetch_at
    assert timedelta(minutes=29) < feed.next_fetch_at - timezone.now() <= timedelta(minutes=30)
    assert len(requested(server, "/news/")) == 5


def test_the_same_url_is_stored_once_whichever_feed_lists_it():
    title, text = STORIES["tram"]
    listing = [
        feed_item("/news/tram?utm_source=rss", title, text, published=None),
        feed_item("/news/tram?fbclid=abc#top", title, text, published=None),
    ]
    routes = site(("tram",)) | {"/other.xml": Reply(body=rss(listing), content_type="application/rss+xml")}
    with serve(routes) as server:
        first, second = feed_for(server), feed_for(server, "/other.xml")
        assert ingest.fetch_feed(first).new_pieces == 1
        again = ingest.fetch_feed(second)
        assert (again.status, again.items, again.new_pieces) == ("ok", 2, 0)
        assert ingest.fetch_feed(first, force=True).new_pieces == 0
    assert Piece.objects.count() == 1
    assert len(requested(server, "/news/")) == 1  # a known piece's page is not fetched again


def test_an_unchanged_feed_is_a_304_and_reads_no_page():
    routes = site(feed_headers={"ETag": '"v1"', "Cache-Control": "max-age=7200"})
    plain = routes["/feed.xml"]

    def conditional(request):
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"', "Cache-Control": "max-age=7200"})
        return plain

    with serve(routes | {"/feed.xml": conditional}) as server:
        feed = feed_for(server)
        ingest.fetch_feed(feed)
        pages = len(requested(server, "/news/"))
        report = ingest.fetch_feed(feed, force=True)
    assert (report.status, report.http_status, report.new_pieces) == ("not_modified", 304, 0)
    assert len(requested(server, "/news/")) == pages == 5
    assert server.requests[-1].headers["if-none-match"] == '"v1"'
    feed.refresh_from_db()
    assert (feed.last_status, feed.last_http_status, feed.items_seen, feed.pieces_added) == (
        "not_modified",
        304,
        5,
        5,
    )
    # The poll interval stays (30 minutes), but max-age says two hours.
    assert feed.poll_interval == timedelta(minutes=30)
    assert feed.next_fetch_at - timezone.now() > timedelta(hours=1, minutes=59)


def test_pages_that_cannot_be_read_leave_the_feeds_own_text():
    routes = site(("tram", "library", "marathon", "harbour"))
    routes["/news/tram"] = Reply(500, b"oops")
    routes["/news/library"] = Reply(body=b"%PDF-1.4", content_type="application/pdf")
    routes["/news/marathon"] = Reply(
        body=b"<html><body><p>Subscribe.</p></body></html>", content_type="text/html"
    )
    routes["/robots.txt"] = Reply(body=b"User-agent: *\nDisallow: /news/harbour\n")
    with serve(routes) as server:
        report = ingest.fetch_feed(feed_for(server))
    assert (report.status, report.new_pieces, report.from_feed_text) == ("ok", 4, 4)
    assert "/news/harbour" not in requested(server, "/news/")  # robots.txt said no
    for name in ("tram", "library", "marathon", "harbour"):
        piece = Piece.objects.get(url=server.url(f"/news/{name}"))
        assert piece.extraction == Piece.Extraction.FEED
        assert piece.text == STORIES[name][1].split(". ")[0] + "."


def test_broken_feeds_are_recorded_with_a_backoff_and_the_others_still_fetched(settings, caplog):
    settings.NEWSAPP_FETCH_TIMEOUT = 0.5

    def slow(request):
        import time

        time.sleep(2)
        return Reply(body=b"late")

    html = Reply(body=b"<!DOCTYPE html><html><body>Our news</body></html>", content_type="text/html")
    broken = Reply(body=b"<?xml version='1.0'?><rss><channel><item><title>a", content_type="application/xml")
    routes = site(("tram",)) | {"/500": Reply(500), "/slow": slow, "/html": html, "/broken": broken}
    with serve(routes) as server, caplog.at_level(logging.WARNING, logger="newsdesk.ingest"):
        feeds = [feed_for(server, path) for path in ("/500", "/slow", "/html", "/broken", "/feed.xml")]
        reports = ingest.fetch_feeds(feeds)
        assert [r.status for r in reports] == ["error", "error", "error", "error", "ok"]
        assert reports[-1].new_pieces == 1
        assert [r.http_status for r in reports[:4]] == [500, None, 200, 200]
        assert "HTTP 500" in reports[0].error
        assert "text/html" in reports[2].error or "HTML page" in reports[2].error
        assert reports[3].error.startswith("not well-formed XML")
        for feed, report in zip(feeds[:4], reports, strict=False):
            feed.refresh_from_db()
            assert (feed.last_status, feed.error_count, feed.last_error) == ("error", 1, report.error)
            assert feed.leased_until is None
            # Twice the 30-minute interval after one failure...
            assert timedelta(minutes=59) < feed.next_fetch_at - timezone.now() <= timedelta(hours=1)
        assert sum("failed (1 in a row)" in r.getMessage() for r in caplog.records) == 4
        # ...four times after two.
        again = ingest.fetch_feed(feeds[0], force=True)
    feeds[0].refresh_from_db()
    assert (again.status, feeds[0].error_count) == ("error", 2)
    assert timedelta(hours=1, minutes=59) < feeds[0].next_fetch_at - timezone.now() <= timedelta(hours=2)


def test_retry_after_is_honoured_and_the_backoff_capped():
    routes = {"/busy": Reply(503, headers={"Retry-After": "36000"}), "/down": Reply(500)}
    with serve(routes) as server:
        busy, down = feed_for(server, "/busy"), feed_for(server, "/down", error_count=30)
        ingest.fetch_feeds([busy, down])
    busy.refresh_from_db()
    down.refresh_from_db()
    assert timedelta(hours=9, minutes=59) < busy.next_fetch_at - timezone.now() <= timedelta(hours=10)
    assert timedelta(hours=23, minutes=59) < down.next_fetch_at - timezone.now() <= polling.MAX_BACKOFF
    assert down.error_count == 31


def test_a_leased_feed_is_not_fetched_even_when_forced():
    with serve(site(("tram",))) as server:
        feed = feed_for(server, leased_until=timezone.now() + timedelta(minutes=5))
        report = ingest.fetch_feed(feed, force=True)
        assert (report.status, report.new_pieces) == (ingest.SKIPPED, 0)
        assert report.error.startswith("being fetched by another worker")
        assert server.requests == []
        # A lease left by a worker that died runs out, and the feed is fetched again.
        Feed.objects.filter(pk=feed.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
        assert ingest.fetch_feed(feed).status == "ok"


def test_two_workers_never_fetch_one_feed_at_once(monkeypatch):
    real_fetch, nested = ingest.fetch, []

    def fetch_while_another_worker_tries(url, **kwargs):
        if kwargs["purpose"] == "feed" and not nested:
            nested.append(ingest.fetch_feed(feed, force=True))  # a second worker, mid-fetch
        return real_fetch(url, **kwargs)

    monkeypatch.setattr(ingest, "fetch", fetch_while_another_worker_tries)
    with serve(site(("tram", "library"))) as server:
        feed = feed_for(server)
        report = ingest.fetch_feed(feed)
    assert nested[0].status == ingest.SKIPPED
    assert (report.status, report.new_pieces) == ("ok", 2)
    assert len(requested(server, "/feed.xml")) == 1


def test_a_feed_not_due_or_inactive_is_skipped_unless_forced():
    with serve(site(("tram",))) as server:
        later = feed_for(server, next_fetch_at=timezone.now() + timedelta(hours=1))
        assert ingest.fetch_feed(later).error.startswith("not due until")
        assert ingest.fetch_feed(later, force=True).status == "ok"
        off = feed_for(server, "/feed.xml?off", active=False)
        assert ingest.fetch_feed(off, force=True).error == "inactive"


def test_a_crash_mid_feed_leaves_whole_pieces_and_a_retry_completes(monkeypatch):
    real_group, calls = grouping.group_piece, []

    def crash_on_the_third(piece):
        calls.append(piece.url)
        if len(calls) == 3:
            raise RuntimeError("worker lost its database connection")
        return real_group(piece)

    monkeypatch.setattr(grouping, "group_piece", crash_on_the_third)
    with serve(site(feed_headers={"ETag": '"v1"'})) as server:
        feed = feed_for(server)
        report = ingest.fetch_feed(feed)
        assert (report.status, report.new_pieces) == ("error", 2)
        assert report.error == "RuntimeError: worker lost its database connection"
        # The third piece was rolled back with its grouping: two whole pieces, nothing half-written;
        # the feed's ETag is not kept, so the retry reads the whole feed again.
        assert Piece.objects.count() == 2
        assert not Piece.objects.filter(candidate=None).exists()
        feed.refresh_from_db()
        assert (feed.last_status, feed.error_count, feed.pieces_added, feed.etag) == ("error", 1, 2, "")
        monkeypatch.setattr(grouping, "group_piece", real_group)
        retry = ingest.fetch_feed(feed, force=True)
    assert (retry.status, retry.new_pieces) == ("ok", 3)
    assert Piece.objects.count() == 5 and not Piece.objects.filter(candidate=None).exists()
    assert set(Piece.objects.values_list("url", flat=True)) == {
        server.url(f"/news/{name}") for name in STORIES
    }


def test_poll_interval_follows_the_publishing_rate():
    def items(gap, count=6, dated=True):
        title, text = STORIES["tram"]
        start = timezone.now()
        return [
            FeedItem(f"https://m.example/{n}", title, "", start - gap * n, text, "", "en", dated=dated)
            for n in range(count)
        ]

    current = timedelta(minutes=30)
    assert polling.poll_interval(items(timedelta(hours=2)), current=current) == timedelta(hours=1)
    assert polling.poll_interval(items(timedelta(minutes=1)), current=current) == polling.MIN_INTERVAL
    assert polling.poll_interval(items(timedelta(days=2)), current=current) == polling.MAX_INTERVAL
    assert polling.poll_interval(items(timedelta(hours=2), dated=False), current=current) == current
    assert polling.poll_interval(items(timedelta(hours=2), count=1), current=current) == current


def test_a_page_known_under_its_canonical_link_is_not_stored_again():
    title, text = STORIES["tram"]
    with serve({}) as server:
        canonical = server.url("/news/tram")
        alias = Reply(body=page(title, text, canonical=canonical), content_type="text/html")
        listing = [feed_item("/print/tram", title, text, published=None)]
        server.routes.update(site(("tram",)) | {"/print/tram": alias})
        server.routes["/alias.xml"] = Reply(body=rss(listing), content_type="application/rss+xml")
        ingest.fetch_feed(feed_for(server))
        report = ingest.fetch_feed(feed_for(server, "/alias.xml"))
    assert (report.items, report.new_pieces) == (1, 0)
    assert list(Piece.objects.values_list("url", flat=True)) == [canonical_url(canonical)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_in_threads_fetch_a_feed_once():
    import threading
    import time

    from django.db import connection

    routes = site(("tram",))
    feed_reply = routes["/feed.xml"]

    def slow_feed(request):
        time.sleep(0.5)  # both workers are in flight
        return feed_reply

    reports = []

    def worker(feed_id):
        try:
            reports.append(ingest.fetch_feed(Feed.objects.get(pk=feed_id), force=True))
        finally:
            connection.close()

    with serve(routes | {"/feed.xml": slow_feed}) as server:
        feed = feed_for(server)
        threads = [threading.Thread(target=worker, args=(feed.pk,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(report.status for report in reports) == ["ok", ingest.SKIPPED]
    assert len(requested(server, "/feed.xml")) == 1
    assert Piece.objects.count() == 1


def test_a_piece_stored_meanwhile_by_another_worker_is_no_error(monkeypatch):
    real_page_read = ingest._page_read

    def another_worker_stores_it_first(url):
        Piece.objects.create(
            outlet=SourceFactory(),
            url=canonical_url(url),
            title=STORIES["tram"][0],
            published_at=timezone.now(),
        )
        return real_page_read(url)

    monkeypatch.setattr(ingest, "_page_read", another_worker_stores_it_first)
    with serve(site(("tram",))) as server:
        report = ingest.fetch_feed(feed_for(server))
    assert (report.status, report.new_pieces, report.error) == ("ok", 0, "")
    assert Piece.objects.count() == 1


def test_a_page_linked_by_http_and_by_https_is_one_piece():
    title, text = STORIES["tram"]
    with serve(site(("tram",))) as server:
        first = feed_for(server)
        ingest.fetch_feed(first)
        https = server.url("/news/tram").replace("http:", "https:")
        listing = [feed_item(https, title, text, published=None)]
        server.routes["/https.xml"] = Reply(body=rss(listing), content_type="application/rss+xml")
        report = ingest.fetch_feed(feed_for(server, "/https.xml"))
    assert (report.items, report.new_pieces) == (1, 0)
    assert Piece.objects.count() == 1


def test_a_worker_whose_lease_ran_out_stops_and_leaves_the_feed_to_the_next(monkeypatch):
    real_page_read, other_lease = ingest._page_read, timezone.now() + timedelta(minutes=30)

    def slow_page_then_another_worker_takes_over(url):
        Feed.objects.filter(pk=feed.pk).update(leased_until=other_lease)
        return real_page_read(url)

    monkeypatch.setattr(ingest, "_page_read", slow_page_then_another_worker_takes_over)
    with serve(site(("tram", "library", "marathon"))) as server:
        feed = feed_for(server)
        report = ingest.fetch_feed(feed)
    assert (report.status, report.new_pieces) == ("error", 1)  # the piece in hand is whole
    assert report.error == f"the lease on feed {feed.pk} ran out"
    feed.refresh_from_db()
    # Nothing recorded over the other worker's fetch; its lease stands.
    assert (feed.last_status, feed.error_count, feed.leased_until) == ("new", 0, other_lease)


def test_a_json_feed_with_nul_characters_is_stored_without_them():
    title, text = STORIES["harbour"]
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "url": "/news/harbour",
                "title": f"{title}\u0000",
                "content_text": f"{text}\u0000",
                "authors": [{"name": "A\u0000B"}],
            }
        ],
    }
    routes = site(("harbour",)) | {
        "/feed.json": Reply(body=json.dumps(document).encode(), content_type="application/feed+json")
    }
    routes["/news/harbour"] = Reply(503)  # the feed's own text it is
    with serve(routes) as server:
        report = ingest.fetch_feed(feed_for(server, "/feed.json"))
    assert (report.status, report.new_pieces) == ("ok", 1)
    harbour = Piece.objects.get()
    assert (harbour.title, harbour.text, harbour.author) == (title, text, "AB")
