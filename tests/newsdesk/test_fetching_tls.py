"""HTTPS through the fetcher's own connection to a checked address: the host name still goes out as
SNI and Host, and the certificate is still checked against it. Certificates are made for the test
by the openssl command (a throwaway CA and a certificate for outlet.test)."""

import shutil
import socket
import ssl
import subprocess

import pytest

import newsdesk.fetching.exchange
from newsdesk.fetching import FetchError, fetch
from tests.newsdesk.servers import Reply, serve

CERTIFI_WHERE = newsdesk.fetching.exchange.certifi.where
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = [
        "-subj",
        "/CN=Test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", *ca)
    (folder / "leaf.ext").write_text(
        "subjectAltName=DNS:outlet.test\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
        "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    openssl("req", *key, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=outlet.test")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")  # fmt: skip
    return folder


@pytest.fixture
def https(settings, monkeypatch, certificates):
    """A TLS server for outlet.test on 127.0.0.1; the fetcher trusts the test CA; names resolve to
    127.0.0.1 (private addresses allowed for the test). Yields the server and the SNI names seen."""
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    monkeypatch.setattr(newsdesk.fetching.exchange.certifi, "where", lambda: str(certificates / "ca.pem"))
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        return real("127.0.0.1" if host.endswith(".test") else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    with serve({"/rss": Reply(body=RSS, content_type="application/rss+xml")}, tls=context) as server:
        yield server, names


def test_https_sends_the_name_as_sni_and_host_and_checks_the_certificate_against_it(https):
    server, names = https
    result = fetch(f"https://outlet.test:{server.port}/rss")
    assert result.body == RSS
    assert names == ["outlet.test"]
    assert server.requests[0].headers["host"] == f"outlet.test:{server.port}"


@pytest.mark.parametrize("host", ["other.test", "127.0.0.1"])
def test_a_certificate_for_another_name_is_refused(https, host):
    server, _ = https
    with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED.*(Hostname|IP address) mismatch"):
        fetch(f"https://{host}:{server.port}/rss")
    assert server.requests == []


def test_an_untrusted_certificate_is_refused(https, monkeypatch):
    server, _ = https
    monkeypatch.setattr(newsdesk.fetching.exchange.certifi, "where", CERTIFI_WHERE)  # without the test CA
    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(f"https://outlet.test:{server.port}/rss")
