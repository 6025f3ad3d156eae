"""A read replica with read-your-writes (docs/scaling.md, "Read replica").

- routing: ReplicaRouter (settings.DATABASE_ROUTERS) and the request's choice of database;
- middleware: ReplicaMiddleware, which makes that choice per request and pins writers to the primary;
- health: the replica's state and lag, measured at most every NEWSAPP_REPLICA_CHECK_SECONDS;
- lsn: the content LSN, the WAL position a replica must have replayed to serve a content version.
"""

from newsapp.replicas.health import replica_status
from newsapp.replicas.routing import DEFAULT, REPLICA, ReplicaRouter, replica_configured

__all__ = ["DEFAULT", "REPLICA", "ReplicaMiddleware", "ReplicaRouter", "replica_configured", "replica_status"]


def __getattr__(name):
    # The middleware imports the page cache (articles), which imports the content version, which
    # records the content LSN through this package: loaded when Django builds its middleware chain,
    # not when the router is first consulted.
    if name == "ReplicaMiddleware":
        from newsapp.replicas.middleware import ReplicaMiddleware

        return ReplicaMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
