"""Which database a request reads from: the router's rules and ReplicaMiddleware's decisions, with
the replica's state set by the test (no replica server needed; SQLite or PostgreSQL)."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import MiddlewareNotUsed
from django.db import OperationalError, connections, router
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from articles.models import Article, ContentVersion
from articles.site.cache import listings
from articles.site.cache.content_version import VERSION_KEY, stored
from articles.site.cache.pagecache import SIGNED_IN_COOKIE, signed_in_value
from newsapp.replicas import lsn
from newsapp.replicas.health import ReplicaState, health, replica_status
from newsapp.replicas.middleware import PINNED_COOKIE, ReplicaMiddleware, pin
from newsapp.replicas.routing import DEFAULT, REPLICA, ReplicaRouter, current_reads, reads_from

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mirror_replica")]

VERSION = "1700000000000-7"  # a content version as the page cache sets it: counter-stored
REPLAYED = 5_000


@pytest.fixture
def replica_state(replica_on):
    """The replica up and caught up as far as REPLAYED, measured just now and not again; the
    content version VERSION needs position 4,000."""

    def set_state(*, up=True, lag=0.0, replayed=REPLAYED, needed=4_000, stored=7):
        health.state = ReplicaState(up, lag, replayed if up else None, time.time(), "" if up else "Refused")
        health.due = float("inf")
        cache.set(lsn.LSN_KEY.format(counter=VERSION.split("-")[0]), (needed, stored))

    set_state()
    return set_state


def reader_get(path="/", method="get", **cookies):
    request = getattr(RequestFactory(), method)(path)
    request.COOKIES.update(cookies)
    request.content_version = VERSION
    return request


def served_from(request) -> tuple[str, HttpResponse]:
    """Run `request` through the middleware; where the view's reads went, and the answer."""
    seen = []

    def view(request):
        seen.append(router.db_for_read(Article))
        return HttpResponse("ok")

    response = ReplicaMiddleware(view)(request)
    assert len(seen) == 1
    return seen[0], response


def pinned_cookie() -> str:
    response = HttpResponse()
    pin(response)
    return response.cookies[PINNED_COOKIE].value


# --- The router -----------------------------------------------------------------------------------


def test_without_a_request_every_read_and_write_goes_to_the_primary():
    replicas = ReplicaRouter()
    assert replicas.db_for_read(Article) == DEFAULT
    assert replicas.db_for_write(Article) == DEFAULT


def test_in_a_reader_request_reads_go_to_the_replica_until_it_writes():
    replicas = ReplicaRouter()
    with reads_from(REPLICA) as reads:
        assert replicas.db_for_read(Article) == REPLICA
        # The content version and sessions are read from the primary all the same.
        assert replicas.db_for_read(ContentVersion) == DEFAULT
        assert replicas.db_for_read(Session) == DEFAULT
        assert replicas.db_for_write(Article) == DEFAULT
        assert reads.alias == DEFAULT
        assert replicas.db_for_read(Article) == DEFAULT  # what it wrote is on the primary only
    assert current_reads() is None
    assert replicas.db_for_read(Article) == DEFAULT


def test_relations_between_primary_and_replica_rows_are_allowed_migrations_only_on_the_primary():
    replicas = ReplicaRouter()
    on_primary, on_replica, elsewhere = Article(), Article(), Article()
    on_primary._state.db, on_replica._state.db, elsewhere._state.db = DEFAULT, REPLICA, "archive"
    assert replicas.allow_relation(on_primary, on_replica) is True
    assert replicas.allow_relation(on_replica, on_replica) is True
    assert replicas.allow_relation(on_primary, elsewhere) is None
    assert replicas.allow_migrate(DEFAULT, "articles") is True
    assert replicas.allow_migrate(REPLICA, "articles") is False


# --- The middleware's decisions --------------------------------------------------------------------


def test_the_middleware_is_left_out_without_a_replica(settings):
    settings.DATABASE_ROUTERS = []  # the replica database alone is not a replica set up
    with pytest.raises(MiddlewareNotUsed):
        ReplicaMiddleware(lambda request: HttpResponse())


def test_a_reader_get_or_head_reads_from_a_fresh_replica(replica_state):
    assert served_from(reader_get())[0] == REPLICA
    assert served_from(reader_get(method="head"))[0] == REPLICA
    assert served_from(reader_get("/world/some-story/"))[0] == REPLICA


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/articles/article/1/change/", "/accounts/x/", "/preview/t/", "/healthz/live"]
)
def test_the_admin_sign_in_previews_and_probes_read_from_the_primary(replica_state, path):
    assert served_from(reader_get(path))[0] == DEFAULT


def test_a_signed_in_session_reads_from_the_primary(replica_state, settings):
    session = {settings.SESSION_COOKIE_NAME: "k" * 32}
    assert served_from(reader_get(**session, **{SIGNED_IN_COOKIE: signed_in_value("k" * 32)}))[0] == DEFAULT
    # A made-up companion is a reader like any other.
    assert served_from(reader_get(**session, **{SIGNED_IN_COOKIE: "k" * 32}))[0] == REPLICA


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_reads_from_the_primary_and_pins_the_browser_to_it(replica_state, settings, method):
    settings.NEWSAPP_REPLICA_PIN_SECONDS = 45
    alias, response = served_from(reader_get(method=method))
    assert alias == DEFAULT
    cookie = response.cookies[PINNED_COOKIE]
    assert cookie["max-age"] == 45
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == settings.SESSION_COOKIE_PATH
    assert bool(cookie["secure"]) is settings.SESSION_COOKIE_SECURE
    assert served_from(reader_get(**{PINNED_COOKIE: cookie.value}))[0] == DEFAULT


def test_the_pin_is_secure_exactly_when_the_session_cookie_is(replica_state, settings):
    for secure in (True, False):
        settings.SESSION_COOKIE_SECURE = secure
        assert bool(served_from(reader_get(method="post"))[1].cookies[PINNED_COOKIE]["secure"]) is secure


def test_reads_need_no_pin_and_options_sets_none(replica_state):
    for method in ("get", "head", "options"):
        assert PINNED_COOKIE not in served_from(reader_get(method=method))[1].cookies


def test_a_forged_or_expired_pin_counts_for_nothing(replica_state, settings):
    assert served_from(reader_get(**{PINNED_COOKIE: "1"}))[0] == REPLICA
    assert served_from(reader_get(**{PINNED_COOKIE: pinned_cookie() + "x"}))[0] == REPLICA
    cookie = pinned_cookie()
    with freeze_time(timezone.now() + timedelta(seconds=settings.NEWSAPP_REPLICA_PIN_SECONDS - 2)):
        assert served_from(reader_get(**{PINNED_COOKIE: cookie}))[0] == DEFAULT
    with freeze_time(timezone.now() + timedelta(seconds=settings.NEWSAPP_REPLICA_PIN_SECONDS + 2)):
        assert served_from(reader_get(**{PINNED_COOKIE: cookie}))[0] == REPLICA


def test_a_replica_down_or_too_far_behind_is_skipped(replica_state, settings):
    settings.NEWSAPP_REPLICA_MAX_LAG = 2.0
    replica_state(lag=2.0)
    assert served_from(reader_get())[0] == REPLICA
    replica_state(lag=2.01)
    assert served_from(reader_get())[0] == DEFAULT
    replica_state(lag=None)  # behind, and nothing replayed since it started: unknown
    assert served_from(reader_get())[0] == DEFAULT
    replica_state(up=False)
    assert served_from(reader_get())[0] == DEFAULT


def test_the_replica_must_have_replayed_the_content_versions_position(replica_state):
    replica_state(needed=REPLAYED)
    assert served_from(reader_get())[0] == REPLICA
    lsn.known.positions.clear()
    replica_state(needed=REPLAYED + 1)
    assert served_from(reader_get())[0] == DEFAULT


def test_a_position_once_known_is_not_asked_of_the_cache_again(replica_state, django_assert_num_queries):
    served_from(reader_get())
    cache.delete(lsn.LSN_KEY.format(counter=VERSION.split("-")[0]))
    with django_assert_num_queries(0):
        assert served_from(reader_get())[0] == REPLICA


def test_without_a_page_cache_miss_the_request_reads_the_content_version_itself(replica_state):
    request = RequestFactory().get("/search/?q=x")
    cache.set(VERSION_KEY, int(VERSION.split("-")[0]))
    replica_state(stored=stored.current())
    assert served_from(request)[0] == REPLICA


def test_an_unknown_position_without_postgresql_reads_from_the_primary(replica_state, monkeypatch):
    cache.delete(lsn.LSN_KEY.format(counter=VERSION.split("-")[0]))
    monkeypatch.setattr(connections[DEFAULT], "vendor", "sqlite")
    assert served_from(reader_get())[0] == DEFAULT


@pytest.mark.postgres
@pytest.mark.django_db(databases=["default", "replica"])
def test_a_missing_position_is_read_from_the_primary_and_shared(replica_state):
    key = lsn.LSN_KEY.format(counter=VERSION.split("-")[0])
    cache.delete(key)
    before = lsn.primary_lsn()
    assert served_from(reader_get())[0] == DEFAULT  # the replica's 5,000 is far behind any real position
    position, stored_version = cache.get(key)
    assert position >= before
    assert stored_version == 7
    lsn.known.positions.clear()
    replica_state(replayed=position, needed=position)
    assert served_from(reader_get())[0] == REPLICA


@pytest.mark.postgres
def test_a_change_counted_while_the_cache_was_away_needs_a_newer_position(replica_state):
    # The key was kept for counter C when the database's count was 7; since then a change was
    # counted in the database alone (the cache was unreachable), so the version is C-8.
    replica_state(needed=REPLAYED, stored=7)
    request = reader_get()
    request.content_version = VERSION.replace("-7", "-8")
    assert served_from(request)[0] == DEFAULT
    assert cache.get(lsn.LSN_KEY.format(counter=VERSION.split("-")[0]))[1] == 8


def test_the_choice_ends_with_the_request(replica_state):
    served_from(reader_get())
    assert current_reads() is None
    assert router.db_for_read(Article) == DEFAULT


# --- A replica failing under a request ------------------------------------------------------------


def test_a_replica_failing_under_a_reader_is_retried_on_the_primary_and_marked_down(replica_state, caplog):
    calls = []

    def view(request):
        alias = router.db_for_read(Article)
        calls.append(alias)
        if alias == REPLICA:
            connections[REPLICA].close()  # gone away
            connections[REPLICA].errors_occurred = True  # what Django records when it fails
            return HttpResponse("error page", status=503)
        return HttpResponse("from the primary")

    response = ReplicaMiddleware(view)(reader_get())
    assert calls == [REPLICA, DEFAULT]
    assert (response.status_code, response.content) == (200, b"from the primary")
    status = replica_status()
    assert status["up"] is False
    assert status["fallbacks"] == 1
    assert "answered from the primary" in caplog.text
    # Down until the next check: the next reader goes straight to the primary.
    assert served_from(reader_get())[0] == DEFAULT
    assert connections[REPLICA].errors_occurred is False


def test_a_query_the_replica_refused_is_retried_on_the_primary_and_the_replica_stays_up(
    replica_state, monkeypatch
):
    calls = []

    def view(request):
        calls.append(router.db_for_read(Article))
        if calls[-1] == REPLICA:
            # A query cancelled by replay: the connection itself still works.
            monkeypatch.setattr(connections[REPLICA], "connection", object())
            monkeypatch.setattr(connections[REPLICA], "is_usable", lambda: True)
            connections[REPLICA].errors_occurred = True
            return HttpResponse(status=503)
        return HttpResponse("from the primary")

    assert ReplicaMiddleware(view)(reader_get()).content == b"from the primary"
    assert calls == [REPLICA, DEFAULT]
    assert replica_status()["up"] is True
    assert replica_status()["fallbacks"] == 1
    assert served_from(reader_get())[0] == REPLICA


def test_an_exception_from_the_replica_is_handled_without_a_server_error(replica_state):
    middleware = ReplicaMiddleware(lambda request: HttpResponse())
    request = reader_get()
    failure = OperationalError("server closed the connection unexpectedly")
    connections[REPLICA].errors_occurred = False
    with reads_from(REPLICA) as reads:
        assert middleware.process_exception(request, failure) is None  # the replica has no error
        connections[REPLICA].errors_occurred = True
        try:
            assert middleware.process_exception(request, failure).status_code == 503
            assert reads.failure is failure
        finally:
            connections[REPLICA].errors_occurred = False
    # Not a reader's replica request: Django handles it as usual.
    assert middleware.process_exception(request, failure) is None


@pytest.mark.postgres
@pytest.mark.django_db(databases=["default", "replica"])
def test_a_statement_compiled_once_runs_wherever_each_call_is_routed(replica_on):
    # The front page's lists are compiled once per process; the first compile happening in a
    # reader's request must not send everyone's later reads (an editor's) to the replica.
    listings._compiled.clear()
    spec = [("latest", 5, {})]
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        with reads_from(REPLICA):
            listings.story_lists(spec)
        assert len(on_replica) == 1
        with CaptureQueriesContext(connections[DEFAULT]) as on_primary:
            listings.story_lists(spec)
        assert (len(on_replica), len(on_primary)) == (1, 1)
