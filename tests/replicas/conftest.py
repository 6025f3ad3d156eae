"""Fixtures for the read replica's tests: the settings that turn it on, a stand-in replica (the
primary's own test database under the `replica` name, as settings/scaling.py's TEST MIRROR makes
it), and a real streaming replica made with pg_basebackup (tests/replicas/standby.py)."""

import os
import subprocess

import psycopg
import pytest
from django.db import connections

from newsapp.replicas import lsn
from newsapp.replicas.health import health
from newsapp.replicas.routing import REPLICA, ROUTER
from tests.replicas.standby import SharedStandby, StandbyError


def _point_replica_at(**changes):
    """The `replica` database: the primary's test database with `changes` (HOST, PORT), mirrored
    for the test runner (never flushed or restored by a test: it is the primary's data). Returns a
    function that puts back what was there before."""
    previous = connections.settings.get(REPLICA)
    primary = connections["default"].settings_dict
    connections.settings[REPLICA] = {
        **primary,
        **changes,
        "OPTIONS": {**primary["OPTIONS"], "connect_timeout": 2} if "HOST" in changes else primary["OPTIONS"],
        "TEST": {**primary["TEST"], "MIRROR": "default"},
    }
    _forget_connection()

    def restore():
        _forget_connection()
        if previous is None:
            del connections.settings[REPLICA]
        else:
            connections.settings[REPLICA] = previous

    return restore


def _forget_connection():
    try:
        connections[REPLICA].close()
        del connections[REPLICA]
    except (AttributeError, KeyError):
        pass  # no connection made on this thread yet


@pytest.fixture(scope="module")
def mirror_replica(django_db_setup, django_db_blocker):
    """`replica`: the primary's own test database under a second connection."""
    restore = _point_replica_at()
    yield
    restore()


@pytest.fixture
def replica_on(settings):
    """The router installed, a check on every request, nothing measured or known yet."""
    settings.DATABASE_ROUTERS = [ROUTER]
    settings.NEWSAPP_REPLICA_CHECK_SECONDS = 0
    settings.NEWSAPP_REPLICA_MAX_LAG = 5.0
    settings.NEWSAPP_REPLICA_PIN_SECONDS = 30
    health.reset()
    lsn.known.positions.clear()
    yield settings
    health.reset()
    lsn.known.positions.clear()


def _shared_folder(request, tmp_path_factory):
    # Every worker of a pytest-xdist run has a folder of its own under the run's.
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(request.config, "workerinput") else base


@pytest.fixture(scope="session")
def standby(request, django_db_setup, tmp_path_factory):
    """A streaming replica of the test server (the test databases included), shared by the run's
    workers. Under CI=true a replica that cannot be made fails the tests instead of skipping them."""
    settings_dict = connections["default"].settings_dict
    if connections["default"].vendor != "postgresql":
        pytest.skip("a streaming replica needs PostgreSQL")
    primary = {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": settings_dict["PORT"] or 5432,
        "user": settings_dict["USER"],
        "password": settings_dict["PASSWORD"],
    }
    shared = SharedStandby(_shared_folder(request, tmp_path_factory), primary)
    server = None
    try:
        server = shared.acquire()
        server.wait_caught_up()  # this worker's test database, made after the copy, is there too
    except (StandbyError, OSError, psycopg.Error, subprocess.SubprocessError, LookupError) as exc:
        if server is not None:
            shared.release(server)
        message = f"could not start a streaming replica of {primary['host']}:{primary['port']}: {exc}"
        if server is not None:
            message += f"\n{server.log_tail()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    yield server
    shared.release(server)


@pytest.fixture(scope="module")
def real_replica(standby):
    """`replica`: the test database on the streaming replica."""
    restore = _point_replica_at(HOST="127.0.0.1", PORT=str(standby.port))
    yield standby
    restore()
