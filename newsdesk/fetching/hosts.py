"""Politeness per host (host:port): at most NEWSAPP_FETCH_HOST_CONCURRENCY requests at once, and
requests started at least NEWSAPP_FETCH_HOST_INTERVAL seconds apart, across all of this process's
threads (a worker may fetch in several)."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from newsdesk.fetching import conf
from newsdesk.fetching.errors import Timeout

# Hosts idle (no request in flight, interval over) are forgotten past this many, so a worker that
# has fetched pictures from thousands of hosts does not keep them all.
KEEP = 1000


class _Host:
    def __init__(self, concurrency: int):
        self.slots = threading.BoundedSemaphore(concurrency)
        self.users = 0  # threads holding or waiting for a slot
        self.next_start = 0.0  # time.monotonic() before which no request may start


_hosts: dict[tuple[str, int], _Host] = {}
_lock = threading.Lock()


def _host_take(key: str) -> _Host:
    concurrency = conf.host_concurrency()
    with _lock:
        if len(_hosts) >= KEEP:
            now = time.monotonic()
            for idle in [k for k, host in _hosts.items() if host.users == 0 and host.next_start <= now]:
                del _hosts[idle]
        # Keyed with the limit too, so a changed setting takes effect (tests change it).
        host = _hosts.get((key, concurrency))
        if host is None:
            host = _hosts[(key, concurrency)] = _Host(concurrency)
        host.users += 1
        return host


@contextmanager
def host_slot(key: str) -> Iterator[None]:
    """Held for the whole of one request to `key` (connect to last body byte). Waits for a free slot
    and for the host's interval; Timeout after NEWSAPP_FETCH_HOST_WAIT seconds of waiting."""
    host = _host_take(key)
    try:
        wait = conf.host_wait()
        give_up = time.monotonic() + wait
        if not host.slots.acquire(timeout=wait):
            raise Timeout(f"waited {wait:g} s for a free slot at {key}")
        try:
            with _lock:
                now = time.monotonic()
                start = max(now, host.next_start)
                if start > give_up:
                    raise Timeout(f"waited {wait:g} s for a turn at {key}")
                host.next_start = start + conf.host_interval()
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            host.slots.release()
    finally:
        with _lock:
            host.users -= 1
