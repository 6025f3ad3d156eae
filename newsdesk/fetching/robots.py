"""robots.txt, honoured for article pages (feeds are published to be polled; pictures follow the
page that shows them). Read through the fetcher itself, so it obeys the same address rules, and kept
per origin for NEWSAPP_FETCH_ROBOTS_TTL seconds.

Following RFC 9309: a robots.txt that is missing (any 4xx) allows everything; one the server fails
to give (5xx, timeout, refused connection) disallows everything for now, and is asked again sooner.
A Crawl-delay it names for us spaces out our requests to that host (hosts.py)."""

import threading
import time
from collections.abc import Callable
from logging import INFO
from urllib.robotparser import RobotFileParser

from newsdesk.fetching import conf
from newsdesk.fetching.addresses import Target, refuse
from newsdesk.fetching.errors import BadStatus, FetchError, Refused
from newsdesk.fetching.hosts import host_delay_set, host_delays_clear
from newsdesk.fetching.result import FetchResult

RETRY_FAILED = 300.0  # seconds before a robots.txt that failed is asked for again
MAX_ENTRIES = 10_000

# origin -> (expires, rules): a parser, True (no robots.txt: all allowed), or why it could not be read
Rules = RobotFileParser | bool | str
_cache: dict[str, tuple[float, Rules]] = {}
_cache_lock = threading.Lock()
_origin_locks: dict[str, threading.Lock] = {}


def robots_clear() -> None:
    """Forget every robots.txt read, and the Crawl-delays learnt from them (tests; an operator after
    changing the user agent)."""
    with _cache_lock:
        _cache.clear()
    host_delays_clear()


def robots_check(target: Target, *, user_agent: str, fetch: Callable[[str], FetchResult]) -> None:
    """Refused if the origin's robots.txt disallows `target` for our user agent. `fetch(url)` reads
    the robots.txt (the client's own, passed in so this module need not import the client)."""
    rules = _rules(target.origin, fetch)
    host_delay_set(
        target.host_key, rules.crawl_delay(user_agent) if isinstance(rules, RobotFileParser) else None
    )
    if rules is True:
        return
    if isinstance(rules, str):
        reason = f"robots.txt of {target.origin} could not be read ({rules}); pages there wait"
        raise refuse(reason[:300], target.url, level=INFO)
    if not rules.can_fetch(user_agent, target.url):
        # A site's wish, not an attack: logged quietly.
        reason = f"robots.txt of {target.origin} disallows {target.path[:200]}"
        raise refuse(reason, target.url, level=INFO)


def _rules(origin: str, fetch: Callable[[str], FetchResult]) -> Rules:
    with _cache_lock:
        lock = _origin_locks.setdefault(origin, threading.Lock())
    # One thread reads an origin's robots.txt; the others wait for its answer instead of asking too.
    with lock:
        with _cache_lock:
            cached = _cache.get(origin)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        rules, ttl = _read(origin, fetch)
        with _cache_lock:
            if len(_cache) >= MAX_ENTRIES:
                now = time.monotonic()
                for key in [key for key, (expires, _) in _cache.items() if expires <= now] or list(_cache):
                    _cache.pop(key, None)
                    _origin_locks.pop(key, None)
            _cache[origin] = (time.monotonic() + ttl, rules)
        return rules


def _read(origin: str, fetch: Callable[[str], FetchResult]) -> tuple[Rules, float]:
    url = f"{origin}/robots.txt"
    try:
        result = fetch(url)
    except BadStatus as error:
        if error.status is not None and 400 <= error.status < 500:
            return True, conf.robots_ttl()
        return error.reason, RETRY_FAILED
    except Refused:
        raise
    except FetchError as error:
        return error.reason, RETRY_FAILED
    parser = RobotFileParser(url)
    # utf-8-sig: a byte-order mark would otherwise hide the first line (often "User-agent: *").
    parser.parse(result.body.decode("utf-8-sig", errors="replace").splitlines())
    return parser, conf.robots_ttl()
