"""The fetcher's limits against misbehaving local servers: a total deadline (slow drips in the body
or the headers, slow redirect chains), body size as received and once decompressed (endless bodies,
gzip and brotli bombs), and politeness per host (concurrent requests, interval between them)."""

import gzip
import socket
import threading
import time
import tracemalloc
import zlib

import brotli
import pytest

from newsdesk.fetching import FetchError, Timeout, TooLarge, fetch, hosts
from newsdesk.fetching.robots import robots_clear
from tests.newsdesk.servers import Reply, serve

XML = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def fetching(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True  # the servers are on 127.0.0.1
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    settings.NEWSAPP_FETCH_TIMEOUT = 1
    settings.NEWSAPP_FETCH_MAX_BYTES = {"feed": 5 * MB, "page": 5 * MB, "image": 15 * MB}
    robots_clear()  # and the Crawl-delays other tests' hosts asked for


def drip_body(request):
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.send_header("Content-Length", "100000")
    request.end_headers()
    for _ in range(100):  # a byte every 0.2 s: never idle long enough for a read timeout
        request.wfile.write(b"x")
        request.wfile.flush()
        time.sleep(0.2)


def drip_headers(request):
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nX-Padding: " + b"x" * 100:
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.2)


@pytest.mark.parametrize("route", [drip_body, drip_headers])
def test_a_slow_drip_fails_at_the_total_deadline(route):
    with serve({"/feed.xml": route}) as server:
        started = time.monotonic()
        with pytest.raises(Timeout) as caught:
            fetch(server.url("/feed.xml"))
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.5  # a hundred bytes at this pace would take 20 s
    assert "1 s" in caught.value.reason


def test_the_deadline_covers_the_whole_redirect_chain():
    def slow_redirect(request):
        time.sleep(0.6)
        return Reply(302, headers={"Location": "/b" if request.path == "/a" else "/c"})

    routes = {"/a": slow_redirect, "/b": slow_redirect, "/c": Reply(body=XML, content_type="text/xml")}
    with serve(routes) as server:
        started = time.monotonic()
        with pytest.raises(Timeout):
            fetch(server.url("/a"))
    assert time.monotonic() - started < 2.5  # not 3 x 0.6 s and more


def test_a_server_that_never_answers_times_out():
    def silent(request):
        time.sleep(3)

    with serve({"/feed.xml": silent}) as server, pytest.raises(Timeout):
        fetch(server.url("/feed.xml"))


def test_a_refused_connection_is_a_fetch_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="cannot connect") as caught:
        fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert not isinstance(caught.value, Timeout)


def endless(chunked):
    def route(request):
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header(
            "Transfer-Encoding" if chunked else "Connection", "chunked" if chunked else "close"
        )
        request.end_headers()
        block = b"<item>" + b"x" * 65530
        while True:  # until the client hangs up
            if chunked:
                request.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            else:
                request.wfile.write(block)

    return route


@pytest.mark.parametrize("chunked", [False, True])
def test_an_endless_body_stops_at_the_size_limit(settings, chunked):
    settings.NEWSAPP_FETCH_MAX_BYTES = {"feed": MB}
    with serve({"/feed.xml": endless(chunked)}) as server, pytest.raises(TooLarge) as caught:
        fetch(server.url("/feed.xml"))
    assert str(MB) in caught.value.reason


def test_a_declared_length_over_the_limit_is_refused_before_reading(settings):
    settings.NEWSAPP_FETCH_MAX_BYTES = {"image": 1000}
    with serve({"/a.jpg": Reply(body=b"x" * 1001, content_type="image/jpeg")}) as server:
        with pytest.raises(TooLarge, match="Content-Length 1001"):
            fetch(server.url("/a.jpg"), purpose="image")
        server.routes["/b.jpg"] = Reply(body=b"x" * 1000, content_type="image/jpeg")
        assert len(fetch(server.url("/b.jpg"), purpose="image").body) == 1000


def gzip_bomb(size):
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(16 * MB)
    return b"".join(packer.compress(zeros) for _ in range(size // len(zeros))) + packer.flush()


def brotli_bomb(size):
    packer = brotli.Compressor(quality=1)
    zeros = bytes(16 * MB)
    return b"".join(packer.process(zeros) for _ in range(size // len(zeros))) + packer.finish()


@pytest.mark.parametrize(
    ("encoding", "bomb"),
    [("gzip", lambda: gzip_bomb(1024 * MB)), ("br", lambda: brotli_bomb(10 * 1024 * MB))],
    ids=["gzip-1GiB", "brotli-10GiB"],
)
def test_a_decompression_bomb_stops_at_the_size_limit_in_bounded_memory(encoding, bomb):
    body = bomb()
    assert len(body) < 5 * MB  # within the limit as sent: only the unpacked size can catch it
    reply = Reply(body=body, content_type="application/rss+xml", headers={"Content-Encoding": encoding})
    with serve({"/feed.xml": reply}) as server:
        tracemalloc.start()
        try:
            with pytest.raises(TooLarge, match="once decompressed"):
                fetch(server.url("/feed.xml"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 4 * 5 * MB  # the 5 MB allowed and working room, not gigabytes


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("br", brotli.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some servers send
        ("identity", lambda data: data),
    ],
)
def test_compressed_bodies_are_unpacked(encoding, pack):
    text = XML * 1000
    reply = Reply(body=pack(text), content_type="application/rss+xml", headers={"Content-Encoding": encoding})
    with serve({"/feed.xml": reply}) as server:
        assert fetch(server.url("/feed.xml")).body == text


def test_a_body_just_under_the_limit_unpacked_passes(settings):
    settings.NEWSAPP_FETCH_MAX_BYTES = {"feed": 100_000}
    for size, fits in ((100_000, True), (100_001, False)):
        reply = Reply(
            body=gzip.compress(b"x" * size), content_type="text/xml", headers={"Content-Encoding": "gzip"}
        )
        with serve({"/feed.xml": reply}) as server:
            if fits:
                assert len(fetch(server.url("/feed.xml")).body) == size
            else:
                with pytest.raises(TooLarge):
                    fetch(server.url("/feed.xml"))


@pytest.mark.parametrize(
    ("encoding", "body", "message"),
    [
        # mtime=0: the same bytes in every process (pytest-xdist's workers must collect equal ids).
        ("gzip", gzip.compress(XML, mtime=0)[:-12], "cut short"),
        ("gzip", b"not gzip at all", "does not decompress"),
        ("br", b"not brotli", "does not decompress"),
        ("zstd", b"whatever", "unsupported Content-Encoding"),
    ],
)
def test_broken_or_unknown_compression_is_a_fetch_error(encoding, body, message):
    reply = Reply(body=body, content_type="application/rss+xml", headers={"Content-Encoding": encoding})
    with serve({"/feed.xml": reply}) as server, pytest.raises(FetchError, match=message):
        fetch(server.url("/feed.xml"))


class Counter:
    """A route that holds each request a while and records how many were in at once."""

    def __init__(self, hold=0.3, shared=None):
        self.hold = hold
        self.shared = shared  # another Counter told of the same requests (several servers' total)
        self.inside = 0
        self.most = 0
        self.starts: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, request):
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.starts.append(time.monotonic())
        if self.shared:
            self.shared(request)
        else:
            time.sleep(self.hold)
        with self.lock:
            self.inside -= 1
        return Reply(body=XML, content_type="application/rss+xml")


def fetch_all(urls):
    errors = []

    def one(url):
        try:
            fetch(url)
        except Exception as error:  # reported below, not lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=one, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_concurrent_requests_to_one_host_are_limited(settings, limit):
    settings.NEWSAPP_FETCH_HOST_CONCURRENCY = limit
    settings.NEWSAPP_FETCH_TIMEOUT = 10
    counter = Counter()
    with serve({"/feed.xml": counter}) as server:
        fetch_all([server.url("/feed.xml")] * 6)
    assert counter.most == limit
    assert len(counter.starts) == 6


def test_the_limit_is_per_host_and_port(settings):
    settings.NEWSAPP_FETCH_HOST_CONCURRENCY = 1
    settings.NEWSAPP_FETCH_TIMEOUT = 10
    both = Counter()
    first, second = Counter(shared=both), Counter(shared=both)
    with serve({"/feed.xml": first}) as one, serve({"/feed.xml": second}) as two:
        fetch_all([one.url("/feed.xml"), two.url("/feed.xml")] * 2)
    assert (first.most, second.most) == (1, 1)
    assert both.most == 2  # the two hosts were served side by side


def test_requests_to_one_host_start_an_interval_apart(settings):
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0.25
    settings.NEWSAPP_FETCH_TIMEOUT = 10
    counter = Counter(hold=0)
    with serve({"/feed.xml": counter}) as server:
        fetch_all([server.url("/feed.xml")] * 4)
    gaps = [later - earlier for earlier, later in zip(counter.starts, counter.starts[1:], strict=False)]
    assert len(gaps) == 3
    assert min(gaps) >= 0.2


def test_a_fetch_waiting_too_long_for_a_busy_host_times_out(settings):
    settings.NEWSAPP_FETCH_HOST_CONCURRENCY = 1
    settings.NEWSAPP_FETCH_HOST_WAIT = 0.2
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    counter = Counter(hold=0.8)
    with serve({"/feed.xml": counter}) as server:
        first = threading.Thread(target=fetch, args=(server.url("/feed.xml"),))
        first.start()
        while not counter.starts:
            time.sleep(0.01)
        with pytest.raises(Timeout, match="free slot"):
            fetch(server.url("/feed.xml"))
        first.join()
    assert len(counter.starts) == 1


def test_idle_hosts_are_forgotten_past_a_bound(monkeypatch):
    monkeypatch.setattr(hosts, "_hosts", {})
    monkeypatch.setattr(hosts, "KEEP", 3)
    with hosts.host_slot("busy:80"):
        for n in range(10):
            with hosts.host_slot(f"host{n}:80"):
                pass
        assert len(hosts._hosts) <= 4
        assert any(key == "busy:80" for key, _ in hosts._hosts)  # in use: kept


def test_a_host_that_does_not_accept_the_connection_times_out_at_the_connect_timeout(settings):
    settings.NEWSAPP_FETCH_CONNECT_TIMEOUT = 0.3
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    with socket.socket() as full, socket.socket() as first:
        # A listening socket whose queue is full: the kernel leaves further connections unanswered.
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        first.connect(full.getsockname())
        started = time.monotonic()
        with pytest.raises(Timeout, match="cannot connect"):
            fetch(f"http://127.0.0.1:{full.getsockname()[1]}/feed.xml")
    assert time.monotonic() - started < 2
