"""The fetcher's HTTP behaviour against local servers: answers, conditional requests, freshness,
Retry-After, redirects, content types, robots.txt and the User-Agent. Addresses (SSRF) are in
test_fetching_addresses.py; time, size and per-host limits in test_fetching_limits.py."""

import email.utils
import threading
import time

import pytest

from newsdesk.fetching import (
    BadContentType,
    BadStatus,
    FetchError,
    FetchResult,
    Refused,
    TooManyRedirects,
    fetch,
)
from newsdesk.fetching.robots import robots_clear
from tests.newsdesk.servers import Reply, serve

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
HTML = "<html><head><title>Caf\u00e9</title></head><body>Bonjour</body></html>"


@pytest.fixture(autouse=True)
def fetching(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True  # the servers are on 127.0.0.1
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    robots_clear()
    yield
    robots_clear()


def test_a_feed_is_fetched_with_its_headers_read():
    reply = Reply(
        body=RSS,
        content_type='application/rss+xml; charset="UTF-8"',
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 04 Mar 2026 08:00:00 GMT", "X-Extra": "yes"},
    )
    with serve({"/feed.xml": reply}) as server:
        result = fetch(server.url("/feed.xml"), purpose="feed")
    assert isinstance(result, FetchResult)
    assert (result.status, result.body, result.not_modified) == (200, RSS, False)
    assert (result.content_type, result.charset) == ("application/rss+xml", "utf-8")
    assert (result.etag, result.last_modified) == ('"v1"', "Wed, 04 Mar 2026 08:00:00 GMT")
    assert result.headers["x-extra"] == "yes"  # names in lower case
    assert result.url == server.url("/feed.xml")
    assert result.max_age is None


def test_text_follows_the_declared_charset_and_charset_is_none_when_not_declared():
    with serve(
        {
            "/latin": Reply(body=HTML.encode("latin-1"), content_type="text/html; charset=ISO-8859-1"),
            "/plain": Reply(body=HTML.encode(), content_type="text/html"),
            "/bogus": Reply(body=HTML.encode(), content_type="text/html; charset=no-such-thing"),
        }
    ) as server:
        latin = fetch(server.url("/latin"), purpose="page")
        plain = fetch(server.url("/plain"), purpose="page")
        bogus = fetch(server.url("/bogus"), purpose="page")
    assert (latin.charset, latin.text) == ("iso8859-1", HTML)
    assert (plain.charset, plain.text) == (None, HTML)
    assert bogus.charset is None


def test_the_user_agent_names_the_site_and_its_contact(settings):
    settings.NEWSAPP_FETCH_USER_AGENT = "Daily-Bugle/1.0 (newsdesk; +https://bugle.example/contact)"
    with serve({"/feed.xml": Reply(body=RSS, content_type="application/rss+xml")}) as server:
        fetch(server.url("/feed.xml"))
    seen = server.requests[0].headers
    assert seen["user-agent"] == "Daily-Bugle/1.0 (newsdesk; +https://bugle.example/contact)"
    assert seen["accept-encoding"] == "gzip, br"
    assert seen["host"] == f"127.0.0.1:{server.server_address[1]}"


def test_a_page_address_with_non_ascii_letters_is_sent_percent_encoded():
    page = Reply(body=HTML.encode(), content_type="text/html")
    with serve({"/caf%C3%A9/na%C3%AFve": page, "/robots.txt": Reply(404)}) as server:
        result = fetch(server.url("/caf\u00e9/na%C3%AFve?q=\u00fcber"), purpose="page")
    assert result.text == HTML
    assert server.requests[-1].path == "/caf%C3%A9/na%C3%AFve?q=%C3%BCber"


def test_a_header_sent_on_several_lines_is_read_whole():
    def twice(request):
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(RSS)))
        request.send_header("Cache-Control", "public")
        request.send_header("Cache-Control", "max-age=120")
        request.end_headers()
        request.wfile.write(RSS)

    with serve({"/feed.xml": twice}) as server:
        result = fetch(server.url("/feed.xml"))
    assert result.headers["cache-control"] == "public, max-age=120"
    assert result.max_age == 120


def test_the_default_user_agent_is_built_from_the_site_name_and_contact_url():
    from django.conf import settings

    assert settings.NEWSAPP_FETCH_USER_AGENT.startswith(f"{settings.NEWSAPP_SITE_NAME}/1.0 (newsdesk")


def conditional(request):
    if request.headers.get("If-None-Match") == '"v1"':
        return Reply(304, headers={"ETag": '"v1"', "Cache-Control": "max-age=600"})
    if request.headers.get("If-Modified-Since") == "Wed, 04 Mar 2026 08:00:00 GMT":
        return Reply(304)
    return Reply(body=RSS, content_type="application/rss+xml", headers={"ETag": '"v1"'})


def test_a_conditional_request_for_an_unchanged_feed_gets_304_and_no_body():
    with serve({"/feed.xml": conditional}) as server:
        by_etag = fetch(server.url("/feed.xml"), etag='"v1"')
        by_date = fetch(server.url("/feed.xml"), last_modified="Wed, 04 Mar 2026 08:00:00 GMT")
        changed = fetch(server.url("/feed.xml"), etag='"v0"')
    assert (by_etag.status, by_etag.not_modified, by_etag.body) == (304, True, b"")
    assert (by_etag.etag, by_etag.max_age) == ('"v1"', 600)
    # A 304 without validators keeps the ones sent, so callers can store the result's as they are.
    assert (by_date.etag, by_date.last_modified) == ("", "Wed, 04 Mar 2026 08:00:00 GMT")
    assert (changed.status, changed.body, changed.not_modified) == (200, RSS, False)
    assert server.requests[0].headers["if-none-match"] == '"v1"'
    assert server.requests[1].headers["if-modified-since"] == "Wed, 04 Mar 2026 08:00:00 GMT"


def test_a_304_to_an_unconditional_request_is_a_bad_status():
    with serve({"/feed.xml": Reply(304)}) as server, pytest.raises(BadStatus) as caught:
        fetch(server.url("/feed.xml"))
    assert caught.value.status == 304


@pytest.mark.parametrize(
    ("cache_control", "age", "expected"),
    [
        ("max-age=300", None, 300),
        ("public, max-age=900, must-revalidate", None, 900),
        ("max-age=300", "100", 200),  # already 100 s old in a cache on the way
        ("max-age=300", "1000", 0),
        ("no-cache", None, None),
        ("max-age=soon", None, None),
        ("max-age=-5", None, None),
    ],
)
def test_max_age_comes_from_cache_control_less_the_age(cache_control, age, expected):
    headers = {"Cache-Control": cache_control}
    if age:
        headers["Age"] = age
    with serve({"/feed.xml": Reply(body=RSS, content_type="application/rss+xml", headers=headers)}) as server:
        assert fetch(server.url("/feed.xml")).max_age == expected


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_on_429_and_503(status):
    reply = Reply(status, headers={"Retry-After": "120"})
    with serve({"/feed.xml": reply}) as server, pytest.raises(BadStatus) as caught:
        fetch(server.url("/feed.xml"))
    assert (caught.value.status, caught.value.retry_after) == (status, 120)
    assert str(status) in caught.value.reason


def test_retry_after_as_an_http_date():
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)
    with (
        serve({"/feed.xml": Reply(503, headers={"Retry-After": when})}) as server,
        pytest.raises(BadStatus) as caught,
    ):
        fetch(server.url("/feed.xml"))
    assert 3590 <= caught.value.retry_after <= 3600


@pytest.mark.parametrize(
    ("status", "retry_after"), [(500, "60"), (404, "60"), (503, "whenever"), (503, None)]
)
def test_retry_after_is_none_when_absent_unreadable_or_not_a_429_or_503(status, retry_after):
    headers = {"Retry-After": retry_after} if retry_after else {}
    with serve({"/feed.xml": Reply(status, headers=headers)}) as server, pytest.raises(BadStatus) as caught:
        fetch(server.url("/feed.xml"))
    assert (caught.value.status, caught.value.retry_after) == (status, None)


def chain(length):
    """/r0 -> /r1 -> ... -> /r<length-1> -> /feed.xml: `length` redirects."""
    routes = {f"/r{i}": Reply(302, headers={"Location": f"/r{i + 1}"}) for i in range(length - 1)}
    routes[f"/r{length - 1}"] = Reply(301, headers={"Location": "/feed.xml"})
    routes["/feed.xml"] = Reply(body=RSS, content_type="application/rss+xml")
    return routes


def test_five_redirects_are_followed_to_the_final_url():
    with serve(chain(5)) as server:
        result = fetch(server.url("/r0"))
    assert result.url == server.url("/feed.xml")
    assert result.body == RSS
    assert len(server.requests) == 6


def test_six_redirects_are_too_many():
    with serve(chain(6)) as server, pytest.raises(TooManyRedirects):
        fetch(server.url("/r0"))
    assert "/feed.xml" not in [seen.path for seen in server.requests]


def test_a_redirect_loop_is_stopped_at_once():
    routes = {"/a": Reply(302, headers={"Location": "/b"}), "/b": Reply(307, headers={"Location": "/a"})}
    with serve(routes) as server, pytest.raises(TooManyRedirects) as caught:
        fetch(server.url("/a"))
    assert "loop" in caught.value.reason
    assert [seen.path for seen in server.requests] == ["/a", "/b"]


def test_a_redirect_to_another_scheme_is_refused():
    reply = Reply(302, headers={"Location": "file:///etc/passwd"})
    with serve({"/feed.xml": reply}) as server, pytest.raises(Refused):
        fetch(server.url("/feed.xml"))


def test_a_redirect_without_location_is_a_bad_status():
    with serve({"/feed.xml": Reply(302)}) as server, pytest.raises(BadStatus) as caught:
        fetch(server.url("/feed.xml"))
    assert caught.value.status == 302


@pytest.mark.parametrize(
    ("purpose", "content_type"),
    [
        ("feed", "application/rss+xml"),
        ("feed", "application/atom+xml; charset=utf-8"),
        ("feed", "application/rdf+xml"),
        ("feed", "application/xml"),
        ("feed", "text/xml; charset=iso-8859-1"),
        ("feed", "application/feed+json"),
        ("feed", "application/json"),
        ("page", "text/html; charset=utf-8"),
        ("page", "application/xhtml+xml"),
        ("image", "image/jpeg"),
        ("image", "image/webp"),
    ],
)
def test_content_types_each_purpose_accepts(purpose, content_type):
    with serve({"/x": Reply(body=b"x", content_type=content_type)}) as server:
        assert fetch(server.url("/x"), purpose=purpose).body == b"x"


@pytest.mark.parametrize(
    ("purpose", "content_type"),
    [
        ("feed", "text/html; charset=utf-8"),  # an outlet's home page where the feed was
        ("feed", "text/plain"),
        ("feed", "image/png"),
        ("feed", ""),
        ("page", "application/pdf"),
        ("page", "application/octet-stream"),
        ("page", "text/xml"),
        ("image", "text/html"),
        ("image", "image/svg+xml"),  # may carry scripts
        ("image", "application/octet-stream"),
    ],
)
def test_content_types_each_purpose_refuses(purpose, content_type):
    reply = Reply(body=b"x", content_type=content_type)
    with serve({"/x": reply}) as server, pytest.raises(BadContentType) as caught:
        fetch(server.url("/x"), purpose=purpose)
    assert purpose in caught.value.reason


def test_an_unknown_purpose_is_a_programming_error():
    with pytest.raises(ValueError, match="purpose"):
        fetch("http://127.0.0.1/", purpose="video")


@pytest.mark.parametrize("url", ["not a url", "http://", "http://[::1/", "http://example.org:99999/"])
def test_malformed_urls_are_fetch_errors(url):
    with pytest.raises(FetchError):
        fetch(url)


ROBOTS = b"User-agent: *\nDisallow: /private/\n\nUser-agent: newsapp\nDisallow: /members/\n"


def page_routes(robots):
    page = Reply(body=HTML.encode(), content_type="text/html; charset=utf-8")
    return {"/robots.txt": robots, "/news/1": page, "/private/1": page, "/members/1": page}


def test_robots_txt_is_honoured_for_pages(settings):
    settings.NEWSAPP_FETCH_USER_AGENT = "newsapp/1.0 (newsdesk; +https://example.org/contact)"
    with serve(page_routes(Reply(body=ROBOTS))) as server:
        assert fetch(server.url("/news/1"), purpose="page").text == HTML
        with pytest.raises(Refused) as caught:
            fetch(server.url("/members/1"), purpose="page")
        assert "robots.txt" in caught.value.reason
    paths = [seen.path for seen in server.requests]
    # robots.txt read once for the host, the disallowed page never asked for.
    assert paths == ["/robots.txt", "/news/1"]


def test_robots_txt_groups_match_our_user_agent_token(settings):
    settings.NEWSAPP_FETCH_USER_AGENT = "otherbot/1.0"
    with serve(page_routes(Reply(body=ROBOTS))) as server:
        fetch(server.url("/members/1"), purpose="page")  # only newsapp's group disallows it
        with pytest.raises(Refused):
            fetch(server.url("/private/1"), purpose="page")


def test_a_robots_txt_with_a_byte_order_mark_is_read_from_its_first_line():
    robots = Reply(body=b"\xef\xbb\xbfUser-agent: *\nDisallow: /private/\n")
    with serve(page_routes(robots)) as server, pytest.raises(Refused):
        fetch(server.url("/private/1"), purpose="page")


def test_robots_txt_does_not_apply_to_feeds_and_images():
    routes = {
        "/robots.txt": Reply(body=b"User-agent: *\nDisallow: /\n"),
        "/feed.xml": Reply(body=RSS, content_type="application/rss+xml"),
        "/a.jpg": Reply(body=b"\xff\xd8", content_type="image/jpeg"),
    }
    with serve(routes) as server:
        fetch(server.url("/feed.xml"))
        fetch(server.url("/a.jpg"), purpose="image")
    assert "/robots.txt" not in [seen.path for seen in server.requests]


def test_a_missing_robots_txt_allows_everything():
    with serve(page_routes(Reply(404, b"no"))) as server:
        fetch(server.url("/private/1"), purpose="page")
        fetch(server.url("/members/1"), purpose="page")
    assert [seen.path for seen in server.requests].count("/robots.txt") == 1


def test_a_failing_robots_txt_disallows_pages_for_now():
    with serve(page_routes(Reply(503, b"down"))) as server:
        with pytest.raises(Refused) as caught:
            fetch(server.url("/news/1"), purpose="page")
        assert "could not be read" in caught.value.reason
        server.routes["/robots.txt"] = Reply(body=b"")
        # Still refused: the failure is remembered for a while rather than asked again at once.
        with pytest.raises(Refused):
            fetch(server.url("/news/1"), purpose="page")
        robots_clear()
        assert fetch(server.url("/news/1"), purpose="page").status == 200


def test_robots_txt_is_read_again_after_its_time(settings):
    settings.NEWSAPP_FETCH_ROBOTS_TTL = 0.2
    with serve(page_routes(Reply(body=ROBOTS))) as server:
        fetch(server.url("/news/1"), purpose="page")
        fetch(server.url("/news/1"), purpose="page")
        time.sleep(0.3)
        fetch(server.url("/news/1"), purpose="page")
    assert [seen.path for seen in server.requests].count("/robots.txt") == 2


def test_a_crawl_delay_in_robots_txt_spaces_the_pages_out():
    starts = []

    def page(request):
        starts.append(time.monotonic())
        return Reply(body=HTML.encode(), content_type="text/html")

    routes = {
        "/robots.txt": Reply(body=b"User-agent: *\nCrawl-delay: 1\nDisallow: /private/\n"),
        "/news/1": page,
    }
    with serve(routes) as server:
        fetch(server.url("/news/1"), purpose="page")
        fetch(server.url("/news/1"), purpose="page")
    assert starts[1] - starts[0] >= 0.9


def test_threads_reading_pages_of_a_new_host_ask_for_its_robots_txt_once(settings):
    settings.NEWSAPP_FETCH_HOST_CONCURRENCY = 4
    with serve(page_routes(Reply(body=ROBOTS))) as server:
        threads = [
            threading.Thread(target=fetch, args=(server.url("/news/1"),), kwargs={"purpose": "page"})
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    paths = [seen.path for seen in server.requests]
    assert (paths.count("/robots.txt"), paths.count("/news/1")) == (1, 6)
