"""The replica's health and lag, measured at most every NEWSAPP_REPLICA_CHECK_SECONDS per process.

One request finds the check due and runs it on its own connection to the replica; requests arriving
meanwhile use the previous measurement rather than wait (a dead host may take the connect timeout,
settings/scaling.py). Lag is 0 while the replica has replayed all it received, else the time since
the primary committed the last transaction it replayed (PostgreSQL's own measures). A replica that
fails under a request is marked down until the next check.
"""

import logging
import threading
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connections

from newsapp.replicas.routing import REPLICA

logger = logging.getLogger(__name__)

# A server that is not in recovery (a promoted replica, or the primary itself under another name, as
# in tests' mirror) counts as caught up at its own current position.
CHECK_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
            ELSE true END,
       EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()),
       (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END
        - '0/0'::pg_lsn)::bigint
"""


@dataclass(frozen=True, slots=True)
class ReplicaState:
    up: bool
    lag_seconds: float | None  # None: unknown (down, or nothing replayed yet while behind)
    replayed_lsn: int | None  # how far it has replayed, in bytes of WAL
    checked_at: float | None  # time.time() of the measurement (None: never measured)
    error: str = ""  # the kind of failure when down

    def usable(self) -> bool:
        return (
            self.up
            and self.lag_seconds is not None
            and self.lag_seconds <= settings.NEWSAPP_REPLICA_MAX_LAG
            and self.replayed_lsn is not None
        )


NEVER_CHECKED = ReplicaState(up=False, lag_seconds=None, replayed_lsn=None, checked_at=None)


def measure() -> ReplicaState:
    """Ask the replica now, on this thread's connection to it."""
    replica = connections[REPLICA]
    try:
        with replica.cursor() as cursor:
            cursor.execute(CHECK_SQL)
            in_recovery, caught_up, behind, replayed = cursor.fetchone()
    except Exception as exc:  # refused, timed out, gone away: down, never an error for the reader
        logger.warning("replica check failed, reading from the primary: %s", exc)
        replica.close()
        return ReplicaState(False, None, None, time.time(), type(exc).__name__)
    if not in_recovery or caught_up:
        return ReplicaState(True, 0.0, replayed, time.time())
    lag = None if behind is None else max(0.0, float(behind))
    return ReplicaState(True, lag, replayed, time.time())


class _Health:
    def __init__(self):
        self.lock = threading.Lock()  # held by the one request checking
        self.counting = threading.Lock()
        self.state = NEVER_CHECKED
        self.due = 0.0  # time.monotonic() of the next check
        self.fallbacks = 0  # reader requests answered from the primary after the replica failed

    def current(self) -> ReplicaState:
        """The latest measurement, measured first if due (by one request at a time)."""
        if time.monotonic() >= self.due and self.lock.acquire(blocking=False):
            try:
                if time.monotonic() >= self.due:
                    self.state = measure()
                    self.due = time.monotonic() + settings.NEWSAPP_REPLICA_CHECK_SECONDS
            finally:
                self.lock.release()
        return self.state

    def mark_down(self, error: str) -> None:
        """The replica failed under a request: skip it until the next check. Not under the check's
        lock, which a check of a dead host may hold for the connect timeout; a check ending meanwhile
        overwrites this with what it found, which is newer."""
        self.state = ReplicaState(False, None, None, time.time(), error)
        self.due = time.monotonic() + settings.NEWSAPP_REPLICA_CHECK_SECONDS

    def fell_back(self) -> None:
        with self.counting:
            self.fallbacks += 1

    def reset(self) -> None:
        """Forget every measurement (tests; a changed configuration)."""
        with self.lock, self.counting:
            self.state, self.due, self.fallbacks = NEVER_CHECKED, 0.0, 0


health = _Health()


def replica_status() -> dict:
    """The last measurement, without asking the replica: up, lag_seconds, replayed_lsn, checked_at
    (a Unix time), error, and `fallbacks` (reader requests this process answered from the primary
    after the replica failed under them)."""
    return asdict(health.state) | {"fallbacks": health.fallbacks}
