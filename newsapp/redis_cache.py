"""Django's Redis cache backend, made to fail open and to cost less per call.

Fail open: the cache only ever saves work, so when Redis is unreachable, frozen or refusing
commands, every call answers as a miss (reads) or as done (writes) instead of raising, and pages
are rendered from the database. Short socket timeouts (settings: OPTIONS socket_timeout and
socket_connect_timeout, 0.25 s by default) bound the first failed call; after it a circuit breaker
skips Redis altogether for `cooldown` seconds, then lets a single call try again. The breaker is
shared by every thread of the process, and counts its recoveries (`generation`) so that the
content version can be re-checked against the database when Redis comes back
(articles.pagecache).

One client per pool: Django builds a new `redis.Redis` object for every cache call, and with it a
table of about 170 response callbacks: a quarter of a millisecond, which is most of the cost of
serving a cached page. A client holds no connection of its own (it borrows one from the pool per
command) and is safe to share between threads, so one per pool is enough.
"""

import logging
import threading
import time
from contextlib import contextmanager

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN = 5.0


class CircuitBreaker:
    """Closed (calls go through) until a call fails; then open (calls are skipped) for `cooldown`
    seconds; then one call at a time may try again, closing it on success."""

    def __init__(self, name: str, cooldown: float = DEFAULT_COOLDOWN):
        self.name = name
        self.cooldown = cooldown
        self.lock = threading.Lock()
        self.local = threading.local()  # `forced` calls of this thread skip the open breaker
        self.open_until = 0.0
        self.down_since: float | None = None
        self.last_error = ""
        self.generation = 0  # recoveries so far: a change tells callers Redis was away

    def allow(self) -> bool:
        if self.down_since is None or getattr(self.local, "forced", False):
            return True
        with self.lock:
            now = time.monotonic()
            if now < self.open_until:
                return False
            self.open_until = now + self.cooldown  # this caller is the trial; the others wait
            return True

    def failed(self, exc: Exception) -> None:
        with self.lock:
            self.open_until = time.monotonic() + self.cooldown
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self.down_since is None:
                self.down_since = time.time()
                logger.warning(
                    "cache %s unreachable, serving without it for %.0f s at a time: %s",
                    self.name,
                    self.cooldown,
                    self.last_error,
                )

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        with self.lock:
            if self.down_since is not None:
                logger.warning("cache %s is back after %.1f s", self.name, time.time() - self.down_since)
                self.down_since = None
                self.generation += 1

    @property
    def is_open(self) -> bool:
        return self.down_since is not None

    @contextmanager
    def forced(self):
        """Calls made inside try Redis even while the breaker is open: for the few that must not be
        skipped (telling every server of a committed change costs at most one timeout)."""
        self.local.forced = True
        try:
            yield
        finally:
            self.local.forced = False


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(servers, cooldown: float = DEFAULT_COOLDOWN) -> CircuitBreaker:
    """The process's one breaker for these servers (Django makes a cache object per thread)."""
    name = ",".join(servers) if isinstance(servers, list | tuple) else str(servers)
    with _breakers_lock:
        if name not in _breakers:
            _breakers[name] = CircuitBreaker(name, cooldown)
        return _breakers[name]


def _guarded(name: str, fallback):
    """The RedisCacheClient method `name`, answering `fallback(*args, **kwargs)` while Redis is away."""
    method = getattr(RedisCacheClient, name)

    def call(self, *args, **kwargs):
        if not self.breaker.allow():
            return fallback(*args, **kwargs)
        try:
            result = method(self, *args, **kwargs)
        except RedisError as exc:
            self.breaker.failed(exc)
            return fallback(*args, **kwargs)
        self.breaker.succeeded()
        return result

    call.__name__ = name
    return call


def _unavailable_incr(key, delta):
    # What Django answers for a missing key: callers start the counter again (and that set is a
    # no-op while Redis is away).
    raise ValueError(f"Key '{key}' not found (the cache is unavailable)")


class FailOpenRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, *, cooldown: float = DEFAULT_COOLDOWN, **options):
        super().__init__(servers, **options)
        self._clients = {}
        self.breaker = breaker_for(servers, cooldown)

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client

    def ping(self) -> None:
        """Ask Redis itself, past the breaker (the readiness check wants the real answer)."""
        self.get_client(write=True).ping()

    get = _guarded("get", lambda key, default: default)
    get_many = _guarded("get_many", lambda keys: {})
    has_key = _guarded("has_key", lambda key: False)
    add = _guarded("add", lambda key, value, timeout: False)
    set = _guarded("set", lambda key, value, timeout: None)
    set_many = _guarded("set_many", lambda data, timeout: list(data))
    touch = _guarded("touch", lambda key, timeout: False)
    delete = _guarded("delete", lambda key: False)
    delete_many = _guarded("delete_many", lambda keys: None)
    incr = _guarded("incr", _unavailable_incr)
    clear = _guarded("clear", lambda: False)


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = FailOpenRedisCacheClient

    @property
    def breaker(self) -> CircuitBreaker:
        return self._cache.breaker

    def forced(self):
        return self.breaker.forced()

    def ping(self) -> None:
        self._cache.ping()
