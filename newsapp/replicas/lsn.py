"""The content LSN: how far a replica must have replayed before it may serve a page.

Every committed content change bumps the content version (articles.site.cache.content_version):
the shared cache's counter C and the database's count S; pages are kept under "C-S". Right after
that bump, bump_content_version() calls record_content_lsn(): the primary's current WAL position,
read after the bump, covers every commit counted by C and S. It is kept in the shared cache as
`content:lsn:C` = (position, S). A reader's request whose version is "C-S" may read from the replica
only once the replica has replayed that position; so a page kept under a version never shows less
than the version counts, from whichever database it was rendered.

When the key is missing (expired, flushed, or C was never bumped by a commit), or its S is behind
the reader's (a change was counted while the cache was unreachable), the request reads the primary's
position itself: any position read after the version was seen covers it. That costs one query to
the primary per version and process; the answer is shared through the same key.
"""

import logging
import threading
from contextlib import nullcontext

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections, transaction

from newsapp.replicas.routing import DEFAULT, replica_configured

logger = logging.getLogger(__name__)

LSN_KEY = "content:lsn:{counter}"
LSN_SQL = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
# A content version outlives its key only while nothing changes; then any request fills it again.
MIN_KEEP_SECONDS = 300


def _keep_seconds() -> int:
    return max(MIN_KEEP_SECONDS, settings.NEWSAPP_PAGE_CACHE_SECONDS)


def applies() -> bool:
    """Whether positions are kept at all: a replica is configured on a PostgreSQL primary."""
    return replica_configured() and connections[DEFAULT].vendor == "postgresql"


def primary_lsn() -> int:
    """The primary's current WAL position, in bytes."""
    connection = connections[DEFAULT]
    # Inside a transaction a failing query would break it: keep that to a savepoint.
    guard = transaction.atomic(using=DEFAULT) if connection.in_atomic_block else nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(LSN_SQL)
        return cursor.fetchone()[0]


def record_content_lsn(counter: int | None, *, stored_version: int) -> None:
    """After a content change bumped the cache's counter to `counter` (None: the cache was away) and
    the database's count to `stored_version`: keep the primary's position for them. A failure only
    costs readers a query to the primary: it never breaks the save that called this."""
    if counter is None or not applies():
        return
    try:
        position = primary_lsn()
    except DatabaseError as exc:
        logger.warning("content LSN: could not read the primary's position (%s)", exc)
        return
    try:
        cache.set(LSN_KEY.format(counter=counter), (position, stored_version), timeout=_keep_seconds())
    except Exception as exc:  # any cache backend's failure: the readers fill the key themselves
        logger.warning("content LSN: could not keep it in the cache (%s)", exc)


class _Known:
    """The positions this process already knows, by content version (one per change: a few)."""

    def __init__(self, size: int = 64):
        self.size = size
        self.lock = threading.Lock()
        self.positions: dict[str, int] = {}

    def get(self, version: str) -> int | None:
        return self.positions.get(version)

    def put(self, version: str, position: int) -> None:
        with self.lock:
            if len(self.positions) >= self.size:
                self.positions.clear()
            self.positions[version] = position


known = _Known()


def required_lsn(version: str) -> int | None:
    """The position a replica must have replayed to serve a page under content version `version`
    ("C-S"); None when it cannot be known (the primary did not answer): read the primary."""
    position = known.get(version)
    if position is not None:
        return position
    counter, _, stored = version.partition("-")
    try:
        stored_version = int(stored)
        key = LSN_KEY.format(counter=int(counter))
    except ValueError:
        return None
    entry = cache.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[1] >= stored_version:
        position = entry[0]
    elif connections[DEFAULT].vendor != "postgresql":
        return None
    else:
        try:
            position = primary_lsn()
        except DatabaseError as exc:
            logger.warning("content LSN: could not read the primary's position (%s)", exc)
            return None
        cache.set(key, (position, stored_version), timeout=_keep_seconds())
    known.put(version, position)
    return position
