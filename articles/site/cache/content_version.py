"""The content version: one value that changes whenever anything readers see changes.

Cached pages, fragments and counts are kept under it, so a change replaces them everywhere at
once. It has two halves:

- the shared cache's counter (`VERSION_KEY`), bumped by every content change, during its
  transaction and again after it commits: instant, for every app server sharing the cache;
- the database's count (`ContentVersion`), bumped after each commit: the truth, which outlives
  the cache. Each process reads it at most every `NEWSAPP_CONTENT_VERSION_CHECK` seconds (0 in
  development: every request), and at once when the cache comes back after an outage.

So a change made while the cache was unreachable, or by a process with a cache of its own (a
shell, an import or a worker beside the development server, each with its own local memory),
still reaches every page: within that interval, or on the next request in development.
A process stopped between its commit and its post-commit bump leaves pages as they were until
the next change or the page cache's lifetime (a window of microseconds).
"""

import logging
import threading
import time
from contextlib import nullcontext

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from newsapp.replicas.lsn import record_content_lsn

logger = logging.getLogger(__name__)

VERSION_KEY = "content:version"
DATABASE_RETRY_SECONDS = 5.0  # after a failed read, so an outage costs one attempt per 5 s, not one a request


def cache_generation() -> int | None:
    """How many times the shared cache came back after an outage (None for caches that never fail)."""
    breaker = getattr(cache, "breaker", None)
    return breaker.generation if breaker is not None else None


class _StoredVersion:
    """The database's version as this process last read it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.value = 0
        self.read_at = float("-inf")
        self.retry_at = 0.0
        self.generation = None
        self.advances = 0  # this process's own bumps so far

    def current(self) -> int:
        now = time.monotonic()
        generation = cache_generation()
        due = now - self.read_at >= settings.NEWSAPP_CONTENT_VERSION_CHECK or generation != self.generation
        if due and now >= self.retry_at:
            self.refresh(now, generation)
        return self.value

    def refresh(self, now: float, generation) -> None:
        advances = self.advances
        try:
            value = read_stored_version()
        except DatabaseError as exc:
            # Keep serving what the cache holds; the page itself will say if the database is needed.
            self.retry_at = now + DATABASE_RETRY_SECONDS
            logger.warning("content version: the database is unreachable (%s); using the cache's", exc)
            return
        with self.lock:
            # A read that started before this process's own bump may end after it: then it is old.
            # Otherwise the database is right, even when its count went down (a restored backup).
            self.value = value if advances == self.advances else max(self.value, value)
            self.read_at, self.retry_at, self.generation = now, 0.0, generation

    def advance(self, value: int) -> None:
        with self.lock:
            self.value = value
            self.advances += 1
            self.read_at = time.monotonic()


def read_stored_version() -> int:
    from articles.models import ContentVersion  # the cache layer must not import models at start-up

    return ContentVersion.objects.values_list("version", flat=True).filter(pk=1).first() or 0


stored = _StoredVersion()


def _counter(found=None) -> int:
    """The shared cache's counter (`found`: already fetched with something else, or None)."""
    counter = found if found is not None else cache.get(VERSION_KEY)
    if counter is None:
        # Start from the clock so a flushed cache never reuses an old number.
        counter = int(time.time() * 1000)
        if not cache.add(VERSION_KEY, counter, timeout=None):
            counter = cache.get(VERSION_KEY, counter)
    return counter


def content_version(counter=None) -> str:
    """The version pages are kept under now: the cache's counter and the database's count.

    `counter`: the cache's value of VERSION_KEY when the caller fetched it already (or None).
    """
    return f"{_counter(counter)}-{stored.current()}"


def bump_cache_counter() -> int:
    """Invalidate every cached page on every server sharing the cache; the counter's new value."""
    try:
        return cache.incr(VERSION_KEY)
    except ValueError:  # not set yet, evicted, or the cache is away (then this is a no-op too)
        counter = int(time.time() * 1000)
        cache.set(VERSION_KEY, counter, timeout=None)
        return counter


def _forced():
    """Past the cache's circuit breaker (newsapp.redis_cache), where it has one."""
    forced = getattr(cache, "forced", None)
    return forced() if forced is not None else nullcontext()


def bump_stored_version() -> None:
    """Count a committed change in the database (outside any transaction: after the commit)."""
    from articles.models import ContentVersion

    try:
        with transaction.atomic():
            updated = ContentVersion.objects.filter(pk=1).update(
                version=F("version") + 1, changed_at=timezone.now()
            )
            if not updated:
                ContentVersion.objects.get_or_create(pk=1, defaults={"version": 1})
            value = ContentVersion.objects.values_list("version", flat=True).get(pk=1)
    except DatabaseError as exc:
        logger.warning("content version: could not count a change in the database (%s)", exc)
        return
    stored.advance(value)


def bump_content_version() -> None:
    """A change has been committed (or was written without a transaction): tell every page.

    The cache is tried even while this process's breaker is open: Redis may be back already, and
    servers that never saw it go would otherwise trust its old counter until their next read of
    the database's version. It costs a save at most one cache timeout (0.25 s) during an outage.
    """
    with _forced():
        counter = bump_cache_counter()
    bump_stored_version()
    # A read replica may serve this version once it has replayed the primary's position now.
    with _forced():
        record_content_lsn(counter, stored_version=stored.value)
