"""Politeness per host (host:port): at most NEWSAPP_FETCH_HOST_CONCURRENCY requests at once, and
requests started at least NEWSAPP_FETCH_HOST_INTERVAL seconds apart (longer when the host's
robots.txt asks for a Crawl-delay), across all of this process's threads (a worker may fetch in
several)."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from newsdesk.fetching import conf
from newsdesk.fetching.errors import Timeout

# Hosts idle (no request in flight, interval over) are forgotten past this many, so a worker that
# has fetched pictures from thousands of hosts does not keep them all.
KEEP = 1000
# A Crawl-delay is honoured up to this many seconds: beyond, a site's pages would take days to read
# and the polling schedule would lose its meaning.
MAX_CRAWL_DELAY = 60.0


class _Host:
    def __init__(self, concurrency: int):
        self.slots = threading.BoundedSemaphore(concurrency)
        self.users = 0  # threads holding or waiting for a slot
        self.next_start = 0.0  # time.monotonic() before which no request may start


_hosts: dict[tuple[str, int], _Host] = {}
_delays: dict[str, float] = {}  # host key -> Crawl-delay from its robots.txt
_lock = threading.Lock()


def host_delays_clear() -> None:
    with _lock:
        _delays.clear()


def host_delay_set(key: str, seconds: float | None) -> None:
    """The Crawl-delay the host's robots.txt asks for (None: none), kept as long as the host is."""
    with _lock:
        if seconds and seconds > 0:
            if len(_delays) >= KEEP:
                _delays.clear()  # re-learnt from each robots.txt as it is read again
            _delays[key] = min(float(seconds), MAX_CRAWL_DELAY)
        else:
            _delays.pop(key, None)


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
                host.next_start = start + max(conf.host_interval(), _delays.get(key, 0.0))
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            host.slots.release()
    finally:
        with _lock:
            host.users -= 1
