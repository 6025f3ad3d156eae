"""No server-side request forgery: every address a name resolves to is checked, the connection goes
to a checked address (never resolved again), each redirect hop is checked too, and refusals are
logged. Names are answered by a fake resolver; "the internet" is a local server reached through a
public address that the test's connection function maps to 127.0.0.1."""

import ipaddress
import logging
import socket

import pytest
import urllib3.util.connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from newsdesk.fetching import FetchError, Refused, fetch
from newsdesk.fetching.addresses import blocked_reason
from newsdesk.fetching.robots import robots_clear
from tests.newsdesk.servers import Reply, serve

REAL_GETADDRINFO = socket.getaddrinfo
PUBLIC = "93.184.215.14"  # a public address standing for an outlet's server; never really reached
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


@pytest.fixture(autouse=True)
def fetching(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = False  # the default, said aloud
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    robots_clear()
    yield
    robots_clear()


class Resolver:
    """getaddrinfo with fixed answers per name (a list, or a list of lists given out in turn);
    address literals are resolved as the system would."""

    def __init__(self, monkeypatch, answers):
        self.answers = answers
        self.asked: list[str] = []
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        host = host.decode() if isinstance(host, bytes) else host
        if host not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        self.asked.append(host)
        answer = self.answers[host]
        if answer and isinstance(answer[0], list):
            answer = answer[min(len(self.asked) - 1, len(answer) - 1)]
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (a, port, 0, 0) if ":" in a else (a, port))
            for a in answer
        ]  # fmt: skip


@pytest.fixture(autouse=True)
def internet(monkeypatch):
    """Connections to PUBLIC go to 127.0.0.1 (same port); any other non-loopback connection fails
    the test rather than leaving the machine. Records every address connected to."""
    connected: list[str] = []
    real = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        host, port = address
        connected.append(host)
        if host == PUBLIC:
            return real(("127.0.0.1", port), *args, **kwargs)
        assert host in ("127.0.0.1", "::1"), f"the test tried to reach {host}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return connected


BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("10.1.2.3", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.10.20", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("192.0.2.10", "private"),  # documentation
    ("198.18.0.1", "private"),  # benchmarking
    ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"),
    ("::ffff:127.0.0.1", "127.0.0.1, a loopback"),
    ("::ffff:10.0.0.1", "10.0.0.1, a private"),
    ("::ffff:169.254.169.254", "169.254.169.254, a cloud metadata"),
    ("2002:7f00:1::", "127.0.0.1, a loopback"),  # 6to4
    ("64:ff9b::a00:1", "10.0.0.1, a private"),  # NAT64
    ("::10.0.0.1", "10.0.0.1, a private"),  # IPv4-compatible
]


@pytest.mark.parametrize(("address", "kind"), BLOCKED)
def test_each_class_of_inside_address_is_refused_with_a_logged_reason(monkeypatch, caplog, address, kind):
    Resolver(monkeypatch, {"feeds.outlet.test": [address]})
    with caplog.at_level(logging.WARNING, logger="newsdesk.fetching"), pytest.raises(Refused) as caught:
        fetch("http://feeds.outlet.test/rss")
    assert kind in caught.value.reason
    assert f"feeds.outlet.test resolves to {ipaddress.ip_address(address)}," in caught.value.reason
    assert any(r.name == "newsdesk.fetching" and kind in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("address", "kind"), BLOCKED)
def test_inside_addresses_written_in_the_url_are_refused(address, kind):
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(Refused) as caught:
        fetch(f"http://{host}:8080/rss")
    assert kind in caught.value.reason


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1", "localhost"])
def test_other_spellings_of_loopback_are_refused(spelling):
    with pytest.raises(Refused, match="loopback"):
        fetch(f"http://{spelling}/")


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "93.184.215.14"])
def test_public_addresses_pass(address):
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_one_inside_address_among_public_ones_refuses_the_name(monkeypatch, internet):
    Resolver(monkeypatch, {"feeds.outlet.test": [PUBLIC, "10.0.0.7"]})
    with pytest.raises(Refused, match=r"10\.0\.0\.7, a private address"):
        fetch("http://feeds.outlet.test/rss")
    assert internet == []


def test_private_addresses_are_allowed_when_configured_but_metadata_never(settings, monkeypatch):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True
    with serve({"/rss": Reply(body=RSS, content_type="application/rss+xml")}) as server:
        assert fetch(server.url("/rss")).body == RSS
    Resolver(monkeypatch, {"metadata.google.internal": ["169.254.169.254"]})
    with pytest.raises(Refused, match="cloud metadata"):
        fetch("http://metadata.google.internal/computeMetadata/v1/")


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(monkeypatch, internet):
    resolver = Resolver(monkeypatch, {"feeds.outlet.test": [PUBLIC]})
    with serve({"/rss": Reply(body=RSS, content_type="application/rss+xml")}) as server:
        port = server.server_address[1]
        result = fetch(f"http://feeds.outlet.test:{port}/rss")
    assert result.body == RSS
    assert result.url == f"http://feeds.outlet.test:{port}/rss"
    assert server.requests[0].headers["host"] == f"feeds.outlet.test:{port}"
    assert internet == [PUBLIC]
    assert resolver.asked == ["feeds.outlet.test"]


def test_dns_rebinding_cannot_switch_the_address_after_the_check(monkeypatch, internet):
    # First answer public, every later one loopback: only the first is asked for and used.
    resolver = Resolver(monkeypatch, {"rebind.test": [[PUBLIC], ["127.0.0.1"]]})
    with serve({"/rss": Reply(body=RSS, content_type="application/rss+xml")}) as server:
        fetch(f"http://rebind.test:{server.server_address[1]}/rss")
    assert resolver.asked == ["rebind.test"]
    assert internet == [PUBLIC]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://127.0.0.1:{port}/admin", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/admin", "loopback"),
        ("http://internal.test:{port}/admin", "private"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ],
)
def test_a_redirect_into_the_inside_is_refused(monkeypatch, internet, caplog, location, reason):
    Resolver(monkeypatch, {"feeds.outlet.test": [PUBLIC], "internal.test": ["10.0.0.5"]})
    routes = {"/rss": lambda request: Reply(302, headers={"Location": location.format(port=port)}),
              "/admin": Reply(body=b"secret", content_type="application/rss+xml")}  # fmt: skip
    with serve(routes) as server:
        port = server.server_address[1]
        with caplog.at_level(logging.WARNING, logger="newsdesk.fetching"), pytest.raises(Refused) as caught:
            fetch(f"http://feeds.outlet.test:{port}/rss")
    assert reason in caught.value.reason
    assert [seen.path for seen in server.requests] == ["/rss"]
    assert internet == [PUBLIC]
    assert any(reason in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://feeds.outlet.test/rss",
        "file:///etc/passwd",
        "gopher://feeds.outlet.test/",
        "javascript:alert(1)",
        "//feeds.outlet.test/rss",
    ],
)
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(Refused, match="scheme"):
        fetch(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@feeds.outlet.test/rss",
        "http://user@feeds.outlet.test/rss",
        "http://:pw@feeds.outlet.test/",
    ],
)
def test_urls_with_credentials_are_refused(monkeypatch, url):
    resolver = Resolver(monkeypatch, {"feeds.outlet.test": [PUBLIC]})
    with pytest.raises(Refused, match="user name or password"):
        fetch(url)
    assert resolver.asked == []


def test_any_port_is_allowed(monkeypatch, internet):
    Resolver(monkeypatch, {"feeds.outlet.test": [PUBLIC]})
    with serve({"/rss": Reply(body=RSS, content_type="application/rss+xml")}) as server:
        assert fetch(f"http://feeds.outlet.test:{server.server_address[1]}/rss").status == 200


def test_a_name_that_does_not_resolve_is_a_fetch_error(monkeypatch):
    Resolver(monkeypatch, {"gone.test": []})
    with pytest.raises(FetchError, match=r"cannot resolve gone\.test") as caught:
        fetch("http://gone.test/rss")
    assert not isinstance(caught.value, Refused)


URL_PARTS = st.sampled_from(
    [
        "http://",
        "https://",
        "HTTP://",
        "ftp://",
        "//",
        "http:///",
        "http://[",
        "http://user@",
        "",
        "javascript:",
    ]
)
HOSTS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["127.0.0.1", "[::1]", "0", "10.0.0.1", "localhost", "xn--", "a" * 64, "[fe80::1%25eth0]"]
    ),
    st.ip_addresses().map(lambda a: f"[{a}]" if a.version == 6 else str(a)),
)
TAILS = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scheme=URL_PARTS, host=HOSTS, port=st.sampled_from(["", ":80", ":0", ":65536", ":x", ":8080"]), tail=TAILS
)
def test_any_url_gives_a_fetch_error_never_another_exception(monkeypatch, scheme, host, port, tail):
    """Names resolve to nothing and every connection is refused, so nothing leaves the machine."""

    def numeric_only(host, *args, **kwargs):
        if not host:
            raise socket.gaierror(socket.EAI_NONAME, "no names in this test")
        return REAL_GETADDRINFO(host, *args, flags=socket.AI_NUMERICHOST)

    def refused(address, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused (test)")

    with monkeypatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", numeric_only)
        patch.setattr(urllib3.util.connection, "create_connection", refused)
        with pytest.raises(FetchError):
            fetch(f"{scheme}{host}{port}/{tail}", purpose="page")
