"""The purge protocol against a real Varnish with vmod xkey (Debian's varnish and varnish-modules):
pages are kept under their surrogate keys, a publish purges exactly those that showed it.

The VCL here is the protocol's smallest form (scripts/cluster/varnish.vcl is the cluster's own,
tested by tests/cluster): cache what the app calls public for its s-maxage, index it by its
Surrogate-Key, and answer `PURGE /` with `xkey-purge: ...` from loopback.
"""

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from articles.models import Article
from tests.factories import ArticleFactory, CategoryFactory

VCL = """
vcl 4.1;
import xkey;

backend app { .host = "127.0.0.1"; .port = "%(port)s"; }
acl purgers { "127.0.0.1"; }

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) { return (synth(403, "Forbidden")); }
        return (synth(200, "Purged " + xkey.purge(req.http.xkey-purge)));
    }
    unset req.http.Cookie;
    return (hash);
}

sub vcl_backend_response {
    set beresp.http.xkey = beresp.http.Surrogate-Key;
    if (beresp.http.Cache-Control !~ "public" || beresp.http.Cache-Control ~ "no-store|private"
        || beresp.status != 200) {
        set beresp.uncacheable = true;
        set beresp.ttl = 1s;
    }
    set beresp.grace = 0s;
}

sub vcl_deliver {
    if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
"""

needs_varnish = pytest.mark.skipif(
    not shutil.which("varnishd") and not Path("/usr/sbin/varnishd").exists(),
    reason="needs varnishd (Debian: varnish, varnish-modules)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def varnish(live_server, tmp_path):
    """A varnishd of this test's own in front of the live server; stopped by its process."""
    port = free_port()
    backend_port = live_server.url.rsplit(":", 1)[1]
    (tmp_path / "test.vcl").write_text(VCL % {"port": backend_port})
    binary = shutil.which("varnishd") or "/usr/sbin/varnishd"
    argv = [binary, "-F", "-j", "none", "-n", str(tmp_path / "work"), "-a", f"127.0.0.1:{port}"]
    argv += ["-f", str(tmp_path / "test.vcl"), "-s", "malloc,32m", "-T", "none"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"varnishd stopped: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("varnishd did not listen within 20 s")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def read(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.headers["X-Cache"], answer.read().decode()


@needs_varnish
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_publish_purges_the_pages_that_show_it_and_no_other(varnish, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    settings.NEWSAPP_PROXY_PURGE_URLS = [f"{varnish}/"]
    settings.NEWSAPP_PROXY_REPURGE_SECONDS = 0
    world, politics = CategoryFactory(slug="world"), CategoryFactory(slug="politics")
    ArticleFactory(title="Harbour strike ends", category=world)
    ArticleFactory(title="Budget vote passes", category=politics)
    home, politics_page = f"{varnish}/", f"{varnish}/politics/"
    for url in (home, politics_page):
        assert read(url)[0] == "MISS"
        assert read(url)[0] == "HIT"

    story = ArticleFactory(title="Bridge reopens", category=world)  # committed: purged on the way out
    cache, page = read(home)
    assert cache == "MISS" and "Bridge reopens" in page
    assert read(politics_page)[0] == "HIT"  # nothing of World on it: kept

    story.status = Article.Status.DRAFT
    story.save()
    cache, page = read(home)
    assert cache == "MISS" and "Bridge reopens" not in page
    assert read(politics_page)[0] == "HIT"
