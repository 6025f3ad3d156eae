"""Health checks for load balancers and orchestrators (routed at /healthz/live and /healthz/ready).

`live` answers whether the process can serve a request at all: no database, no cache, 4 bytes. It is
also the benchmark's yardstick for the cheapest request the app can answer (bench/run.py).
`ready` answers whether this server can do useful work: the database answers `SELECT 1` and the cache
answers (Redis: PING, asked past the circuit breaker; local memory: stores and returns a value).
It names each dependency with "ok" or "down" and the kind of error, and answers 503 when any is
down (the details go to the log, not to whoever asks). The site itself keeps serving while the cache
is down (it fails open) and serves cached pages while the database is down: a 503 here tells the
load balancer and the operator, not the readers. A read replica, when configured, gets a line too
but never makes the server unready: without it, reads go to the primary (newsapp.replicas).

Neither is ever cached (by the page cache or by anything in between), and plain-HTTP probes are not
redirected to HTTPS (settings.SECURE_REDIRECT_EXEMPT). Probes must still use a host name listed in
DJANGO_ALLOWED_HOSTS.
"""

import logging
import secrets

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from newsapp.replicas import replica_configured
from newsapp.replicas.health import health

logger = logging.getLogger(__name__)

READY_KEY = "healthz:ready"


def _text(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@never_cache
@require_safe
def live(request):
    """200 "live": the process is up and Django answers."""
    return _text(b"live")


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 did not return 1")


def _check_cache() -> None:
    ping = getattr(cache, "ping", None)
    if ping is not None:  # newsapp.redis_cache.RedisCache: its own calls would fail open silently
        ping()
        return
    # A key of its own per probe: servers sharing one cache never read each other's value.
    token = secrets.token_hex(8)
    key = f"{READY_KEY}:{token}"
    cache.set(key, token, timeout=30)
    try:
        if cache.get(key) != token:
            raise RuntimeError("a value written to the cache did not come back")
    finally:
        cache.delete(key)


def _replica_line() -> str:
    """The read replica's state (checked if due). Never makes the server unready: without the
    replica, reads go to the primary."""
    state = health.current()
    if not state.up:
        return f"replica: down ({state.error}; reading from the primary)"
    if not state.usable():
        lag = "unknown" if state.lag_seconds is None else f"{state.lag_seconds:.1f} s"
        return f"replica: behind (lag {lag}; reading from the primary)"
    return f"replica: ok (lag {state.lag_seconds:.1f} s)"


@never_cache
@require_safe
def ready(request):
    """200 when the database and the cache work; 503 otherwise. Either way, one line per dependency."""
    lines, down = [], False
    for name, check in (("database", _check_database), ("cache", _check_cache)):
        try:
            check()
        except Exception as exc:  # a failing dependency means "not ready", never a 500
            # The details (hosts, users) go to the log only; the probe gets the kind of failure.
            logger.warning("readiness check %s failed: %s", name, exc, exc_info=True)
            lines.append(f"{name}: down ({type(exc).__name__})")
            down = True
        else:
            lines.append(f"{name}: ok")
    if replica_configured():
        lines.append(_replica_line())
    body = ("not ready\n" if down else "ready\n") + "\n".join(lines) + "\n"
    return _text(body.encode(), status=503 if down else 200)
