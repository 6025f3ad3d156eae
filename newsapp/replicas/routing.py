"""Which database each query goes to.

Writes always go to the primary ("default"). Reads go to the replica only inside a request that
ReplicaMiddleware chose for it (a reader's GET with the replica fresh enough), and only until that
request writes: its later reads see its own write. Everything without such a request (commands,
workers, tasks, tests' setup, the admin) reads the primary.

The choice lives in a context variable rather than a thread-local, so that it follows the request
into whatever thread or task serves it and never leaks into the next request on the same thread.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

DEFAULT = DEFAULT_DB_ALIAS
REPLICA = "replica"
ROUTER = "newsapp.replicas.ReplicaRouter"
# Read from the primary even in a reader's request: the content version is the primary's word on
# what changed (every cached page's freshness rests on it), and a session holds what one browser
# wrote itself.
PRIMARY_MODELS = frozenset({"articles.contentversion", "sessions.session"})


class RequestReads:
    """Where the current request reads from; `failure`: what the replica raised, if it did."""

    __slots__ = ("alias", "failure")

    def __init__(self, alias: str):
        self.alias = alias
        self.failure: BaseException | None = None


_reads: ContextVar[RequestReads | None] = ContextVar("newsapp_replica_reads", default=None)


def replica_configured() -> bool:
    """Whether a replica is set up: the `replica` database and this router (settings/scaling.py)."""
    return REPLICA in connections.settings and ROUTER in settings.DATABASE_ROUTERS


def current_reads() -> RequestReads | None:
    return _reads.get()


@contextmanager
def reads_from(alias: str) -> Iterator[RequestReads]:
    """Within the block, reads go to `alias` (until something writes)."""
    reads = RequestReads(alias)
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        reads = _reads.get()
        if reads is None or reads.alias != REPLICA or model._meta.label_lower in PRIMARY_MODELS:
            return DEFAULT
        return REPLICA

    def db_for_write(self, model, **hints):
        reads = _reads.get()
        if reads is not None:
            reads.alias = DEFAULT  # read-your-writes within the request too
        return DEFAULT

    def allow_relation(self, obj1, obj2, **hints):
        # Both hold the same rows (one streams from the other).
        if {obj1._state.db, obj2._state.db} <= {DEFAULT, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT  # the replica follows the primary's schema through replication
