"""The proxy really caches (scripts/cluster/varnish.vcl): a reader's second read of the front page is
a Varnish hit; a signed-in editor's request (the session's cookies) and the newsroom's pages go to
an app server every time; a made-up cookie changes nothing; surrogate keys stay between the app
and the proxy unless asked for; PURGE with xkey-purge drops the pages carrying a key, from this
machine, and says how many."""

import time

import pytest

from tests.cluster.cluster import fetch

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module", autouse=True)
def quiet(cluster):
    """The earlier tests' writes are purged once more NEWSAPP_PROXY_REPURGE_SECONDS later: wait for
    those purges, so that none falls between two reads here."""
    time.sleep(float(cluster.env.get("NEWSAPP_PROXY_REPURGE_SECONDS", 2.0)) + 1)


def read_twice(url: str, **headers):
    fetch(url, headers=headers)
    return fetch(url, headers=headers)


def test_a_readers_second_read_of_the_front_page_is_a_hit(cluster):
    answer = read_twice(cluster.proxy + "/")
    assert answer.status == 200
    assert answer.headers["X-Cache"] == "HIT"
    # Varnish's own evidence: the ids of this request and of the one that stored the page.
    assert len(answer.headers["X-Varnish"].split()) == 2
    assert "Age" in answer.headers
    assert "public" in answer.headers["Cache-Control"]


def test_a_made_up_cookie_does_not_split_or_bypass_the_cache(cluster):
    fetch(cluster.proxy + "/")
    answer = fetch(cluster.proxy + "/", headers={"Cookie": "sessionid=made-up; theme=dark"})
    assert answer.headers["X-Cache"] == "HIT"


def test_a_signed_in_editor_is_passed_to_an_app_server(cluster):
    editor = cluster.signed_in_editor(cluster.apps[0])
    assert {"sessionid", "signedin"} <= set(editor.cookies)
    cookie = "; ".join(f"{name}={value}" for name, value in editor.cookies.items())
    fetch(cluster.proxy + "/")  # the readers' copy is in the cache
    for _ in range(2):
        answer = fetch(cluster.proxy + "/", headers={"Cookie": cookie})
        assert answer.status == 200
        assert answer.headers["X-Cache"] == "PASS"
        assert "public" not in answer.headers.get("Cache-Control", "")
    # The same session's cookies on the admin: the editor's own page, never one kept for others.
    admin = fetch(cluster.proxy + "/admin/", headers={"Cookie": cookie})
    assert (admin.status, admin.headers["X-Cache"]) == (200, "PASS")
    assert "Demo" in admin.text or "editor" in admin.text


@pytest.mark.parametrize("cookie", ["pinned=1", "signedin=x; other=1"])
def test_the_pinned_and_signed_in_cookies_are_passed(cluster, cookie):
    fetch(cluster.proxy + "/")
    assert fetch(cluster.proxy + "/", headers={"Cookie": cookie}).headers["X-Cache"] == "PASS"


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/"])
def test_the_newsroom_and_sign_in_are_never_cached(cluster, path):
    assert read_twice(cluster.proxy + path).headers["X-Cache"] == "PASS"


def test_surrogate_keys_are_shown_only_when_asked_for(cluster):
    assert "Surrogate-Key" not in read_twice(cluster.proxy + "/").headers
    keys = read_twice(cluster.proxy + "/", **{"X-Debug-Keys": "1"}).headers["Surrogate-Key"].split()
    assert {"site", "home"} <= set(keys)


def test_purge_by_key_drops_the_pages_that_carry_it(cluster):
    read_twice(cluster.proxy + "/")
    answer = fetch(cluster.proxy + "/", method="PURGE", headers={"xkey-purge": "home"})
    assert answer.status == 200
    assert answer.text.startswith("Purged ") and int(answer.text.split()[1]) >= 1
    assert fetch(cluster.proxy + "/").headers["X-Cache"] == "MISS"
    assert fetch(cluster.proxy + "/").headers["X-Cache"] == "HIT"


def test_a_purge_without_keys_is_refused(cluster):
    answer = fetch(cluster.proxy + "/", method="PURGE")
    assert answer.status == 400
    assert "xkey-purge" in answer.text
