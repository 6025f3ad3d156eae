"""What a refused fetch leaves on the feed's record for an operator (`feeds list`, the admin): that it
was refused, which address, why, whether a setting changes that, and, when a redirect led there,
that the feed's own address was not the one refused."""

import logging

import pytest

from newsdesk import ingest
from newsdesk.fetching import Refused, fetch
from newsdesk.fetching.robots import robots_clear
from newsdesk.models import Feed
from tests.factories import SourceFactory
from tests.newsdesk.servers import Reply, serve
from tests.newsdesk.test_fetching_addresses import PUBLIC, Resolver

pytestmark = pytest.mark.django_db
SETTING = "not fetched unless NEWSAPP_FETCH_ALLOW_PRIVATE=true"


@pytest.fixture(autouse=True)
def fetching(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = False  # the default
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    robots_clear()
    yield
    robots_clear()


@pytest.fixture
def internet(monkeypatch):
    """Connections to PUBLIC go to 127.0.0.1 (where the test's server is)."""
    import urllib3.util.connection

    real = urllib3.util.connection.create_connection

    def connect(address, *args, **kwargs):
        host, port = address
        return real(("127.0.0.1" if host == PUBLIC else host, port), *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)


def test_a_loopback_feed_is_recorded_as_refused_with_the_setting_that_allows_it():
    feed = Feed.objects.create(outlet=SourceFactory(), url="http://127.0.0.1:9/feed.xml")
    report = ingest.fetch_feed(feed, force=True)
    feed.refresh_from_db()
    assert report.status == Feed.Status.ERROR
    assert feed.last_error == (
        f"127.0.0.1 is a loopback address: {SETTING} or its host:port is in NEWSAPP_FETCH_PRIVATE_HOSTS "
        "(tests and closed networks only)"
    )


@pytest.mark.parametrize("listed", ["127.0.0.1:{port}", "localhost:{port}"])
def test_a_host_and_port_listed_as_private_is_fetched_and_no_other(settings, listed):
    with serve({"/feed.xml": Reply(body=b"<rss/>", content_type="application/rss+xml")}) as server:
        port = server.url("/").split(":")[2].split("/")[0]
        host = listed.split(":")[0]
        settings.NEWSAPP_FETCH_PRIVATE_HOSTS = [listed.format(port=port).upper()]
        assert fetch(f"http://{host}:{port}/feed.xml", purpose="feed").status == 200
        other = "localhost" if host == "127.0.0.1" else "127.0.0.1"
        with pytest.raises(Refused):  # the same server by another name is not listed
            fetch(f"http://{other}:{port}/feed.xml", purpose="feed")
        with pytest.raises(Refused):  # nor another port on the listed host
            fetch(f"http://{host}:9/feed.xml", purpose="feed")


def test_cloud_metadata_is_refused_even_when_listed(settings, monkeypatch):
    Resolver(monkeypatch, {"meta.test": ["169.254.169.254"]})
    settings.NEWSAPP_FETCH_PRIVATE_HOSTS = ["meta.test:80"]
    with pytest.raises(Refused) as refused:
        fetch("http://meta.test/latest/meta-data/")
    assert "cloud metadata" in refused.value.reason


def test_a_name_resolving_inside_says_where_it_resolves(monkeypatch):
    Resolver(monkeypatch, {"feeds.outlet.test": ["10.1.2.3"]})
    with pytest.raises(Refused) as refused:
        fetch("http://feeds.outlet.test/rss")
    assert refused.value.reason.startswith(
        f"feeds.outlet.test resolves to 10.1.2.3, a private address: {SETTING}"
    )


def test_cloud_metadata_is_never_fetched_whatever_the_setting(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True
    with pytest.raises(Refused) as refused:
        fetch("http://169.254.169.254/latest/meta-data/")
    assert refused.value.reason == "169.254.169.254 is a cloud metadata address: never fetched"


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("http://127.0.0.1:{port}/admin", "127.0.0.1 is a loopback address"),
        ("http://user:pw@feeds.outlet.test:{port}/rss2", "URLs with a user name or password are not fetched"),
    ],
)
def test_a_redirect_refused_names_where_it_led(monkeypatch, internet, location, said):
    Resolver(monkeypatch, {"feeds.outlet.test": [PUBLIC]})
    routes = {"/rss": lambda request: Reply(302, headers={"Location": location.format(port=port)})}
    with serve(routes) as server:
        port = server.server_address[1]
        feed = Feed.objects.create(outlet=SourceFactory(), url=f"http://feeds.outlet.test:{port}/rss")
        ingest.fetch_feed(feed, force=True)
    feed.refresh_from_db()
    assert feed.last_status == Feed.Status.ERROR
    target = location.format(port=port)
    assert feed.last_error.startswith(f"redirected to {target}: {said}")
    assert [seen.path for seen in server.requests] == ["/rss"]


def test_a_password_in_a_refused_url_is_not_logged(caplog):
    with caplog.at_level(logging.INFO, logger="newsdesk.fetching"), pytest.raises(Refused) as refused:
        fetch("http://editor:hunter2@feeds.outlet.test/story")
    assert refused.value.reason == "URLs with a user name or password are not fetched"
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "Refused http://…@feeds.outlet.test/story" in logged
    assert "hunter2" not in logged and "editor" not in logged


def test_a_feed_linking_a_page_with_a_password_stores_and_logs_it_without(caplog, settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>A story</title>'
        "<link>http://editor:hunter2@127.0.0.1:{port}/story</link><description>Words.</description></item>"
        "</channel></rss>"
    )
    routes = {
        "/rss": lambda request: Reply(body=rss.format(port=port).encode(), content_type="application/rss+xml")
    }
    with serve(routes) as server, caplog.at_level(logging.INFO):
        port = server.server_address[1]
        feed = Feed.objects.create(outlet=SourceFactory(), url=server.url("/rss"))
        report = ingest.fetch_feed(feed, force=True)
    assert report.new_pieces == 1
    assert feed.pieces.get().url == f"http://127.0.0.1:{port}/story"
    assert "hunter2" not in " ".join(record.getMessage() for record in caplog.records)
