"""The replica's health and lag (checked at most every NEWSAPP_REPLICA_CHECK_SECONDS per process, by
one thread at a time), its line on /healthz/ready, and the content LSN kept by each content change."""

import socket
import threading
import time

import pytest
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.db.utils import ConnectionHandler
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from articles.site import health as health_view
from articles.site.cache import content_version
from articles.site.cache.content_version import VERSION_KEY, bump_content_version
from newsapp.replicas import health as replica_health
from newsapp.replicas import lsn
from newsapp.replicas.health import ReplicaState, health, replica_status
from newsapp.replicas.routing import DEFAULT, REPLICA

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mirror_replica")]


def ready_body() -> str:
    response = health_view.ready(RequestFactory().get("/healthz/ready"))
    assert response.status_code == 200  # the replica never makes the server unready
    return response.content.decode()


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once closed


# --- Measuring ------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(databases=["default", "replica"])
def test_a_server_not_in_recovery_counts_as_caught_up_at_its_own_position(replica_on):
    # The tests' mirror: the primary itself under the replica's name.
    before = lsn.primary_lsn()
    state = health.current()
    assert (state.up, state.lag_seconds, state.error) == (True, 0.0, "")
    assert state.replayed_lsn >= before
    assert state.usable()
    assert replica_status()["checked_at"] == pytest.approx(time.time(), abs=5)


@pytest.mark.postgres
@pytest.mark.django_db(databases=["default", "replica"])
def test_the_replica_is_asked_at_most_once_per_check_interval(replica_on):
    replica_on.NEWSAPP_REPLICA_CHECK_SECONDS = 3600
    with CaptureQueriesContext(connections[REPLICA]) as asked:
        first = health.current()
        assert health.current() is first
    assert len(asked) == 1


def test_one_thread_checks_while_the_others_use_the_last_measurement(replica_on, monkeypatch):
    calls, started, release = [], threading.Event(), threading.Event()

    def slow_measure():
        calls.append(1)
        started.set()
        release.wait(5)
        return ReplicaState(True, 0.0, 10, time.time())

    monkeypatch.setattr(replica_health, "measure", slow_measure)
    checker = threading.Thread(target=health.current)
    checker.start()
    assert started.wait(5)
    others = [health.current() for _ in range(20)]  # meanwhile: no wait, the old state
    assert all(state.checked_at is None for state in others)
    release.set()
    checker.join(5)
    assert len(calls) == 1
    assert health.current().up is True  # the interval is 0 here: each call after that checks again
    assert len(calls) == 2


def test_a_replica_that_refuses_connections_is_down_and_quickly_known(
    replica_on, closed_port, monkeypatch, caplog
):
    dead = {"ENGINE": "django.db.backends.postgresql", "NAME": "newsapp", "USER": "postgres"}
    dead |= {"HOST": "127.0.0.1", "PORT": str(closed_port)}
    # Under a name of its own: the test runner lets a test connect to a database it does not know.
    handler = ConnectionHandler({DEFAULT: connections[DEFAULT].settings_dict, "dead-replica": dead})
    monkeypatch.setattr(replica_health, "connections", {REPLICA: handler["dead-replica"]})
    started = time.monotonic()
    state = health.current()
    assert time.monotonic() - started < 1
    assert (state.up, state.lag_seconds, state.error) == (False, None, "OperationalError")
    assert not state.usable()
    assert "replica check failed" in caplog.text


def test_a_forbidden_or_broken_replica_is_down_not_an_error(replica_on):
    # In a test that may not use it, the connection refuses every query, like a broken one.
    state = health.current()
    assert state.up is False
    assert state.error


# --- /healthz/ready ---------------------------------------------------------------------------------


def test_ready_names_the_replica_without_counting_it(replica_on):
    health.due = float("inf")
    health.state = ReplicaState(True, 0.25, 10, time.time())
    assert ready_body().endswith("cache: ok\nreplica: ok (lag 0.2 s)\n")
    health.state = ReplicaState(True, 42.0, 10, time.time())
    assert "replica: behind (lag 42.0 s; reading from the primary)" in ready_body()
    health.state = ReplicaState(False, None, None, time.time(), "OperationalError")
    body = ready_body()
    assert body.startswith("ready\n")
    assert "replica: down (OperationalError; reading from the primary)" in body


def test_ready_says_nothing_of_a_replica_when_there_is_none(settings):
    settings.DATABASE_ROUTERS = []
    assert "replica" not in ready_body()


# --- The content LSN kept by each change ------------------------------------------------------------


@pytest.mark.postgres
def test_each_content_change_keeps_the_primarys_position_for_its_version(replica_on):
    before = lsn.primary_lsn()
    bump_content_version()
    counter = cache.get(VERSION_KEY)
    position, stored_version = cache.get(lsn.LSN_KEY.format(counter=counter))
    assert before <= position <= lsn.primary_lsn()
    assert stored_version == content_version.stored.value
    # The page cache's version for it: a replica at that position may serve it.
    assert lsn.required_lsn(content_version.content_version()) == position


def test_without_a_replica_a_change_asks_the_primary_nothing_more(settings, monkeypatch):
    settings.DATABASE_ROUTERS = []

    def refuse():
        raise AssertionError("no position without a replica")

    monkeypatch.setattr(lsn, "primary_lsn", refuse)
    bump_content_version()
    assert cache.get(lsn.LSN_KEY.format(counter=cache.get(VERSION_KEY))) is None


def test_a_position_that_cannot_be_read_or_kept_never_breaks_the_change(replica_on, monkeypatch, caplog):
    monkeypatch.setattr(connections[DEFAULT], "vendor", "postgresql")  # as on a PostgreSQL primary

    def unreachable():
        raise DatabaseError("the primary went away")

    monkeypatch.setattr(lsn, "primary_lsn", unreachable)
    bump_content_version()
    assert cache.get(lsn.LSN_KEY.format(counter=cache.get(VERSION_KEY))) is None
    assert "could not read the primary's position" in caplog.text

    class BrokenCache:
        def set(self, *args, **kwargs):
            raise ConnectionError("cache unreachable")

    monkeypatch.setattr(lsn, "primary_lsn", lambda: 123)
    monkeypatch.setattr(lsn, "cache", BrokenCache())
    bump_content_version()
    assert "could not keep it in the cache" in caplog.text
