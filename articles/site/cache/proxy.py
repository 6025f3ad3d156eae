"""Purges of the caching proxy in front (Varnish with vmod xkey: scripts/cluster/varnish.vcl).

Every content change adds the surrogate keys it touches (articles.site.cache.surrogate) to one purge
per transaction, sent once after the commit, right after the content version's bump, to each of
settings.NEWSAPP_PROXY_PURGE_URLS as `PURGE /` with the header `xkey-purge: key1 key2 ...`. It works
the same from a request, a management command or a task worker: it hangs on the model signals
(articles.site.cache.signals), not on any view.

A savepoint rolled back takes back the purge it started; keys added to a purge started before it stay
(a purge too many costs the proxy one render; a key lost would leave a stale page). A proxy that is
down or slow costs the save at most NEWSAPP_PROXY_PURGE_TIMEOUT and a warning in the log, never an
error: its pages expire anyway within their s-maxage, which is short.
"""

import http.client
import logging
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

PURGE_HEADER = "xkey-purge"
# Keys per request: Varnish refuses request headers past 8 KB (http_req_hdr_len); a story's keys
# are a few dozen characters, so only a long list of outlets comes near this.
KEYS_PER_REQUEST = 400


def enabled() -> bool:
    return bool(settings.NEWSAPP_PROXY_PURGE_URLS)


def _send_one(url: str, keys: list[str], timeout: float, outcome: dict) -> None:
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    try:
        for start in range(0, len(keys), KEYS_PER_REQUEST):
            batch = " ".join(keys[start : start + KEYS_PER_REQUEST])
            connection = kind(parts.hostname, parts.port, timeout=timeout)
            try:
                connection.request("PURGE", parts.path or "/", headers={PURGE_HEADER: batch})
                answer = connection.getresponse()
                answer.read()
            finally:
                connection.close()
            if answer.status != 200:
                raise OSError(f"answered {answer.status} {answer.reason}")
    except (OSError, http.client.HTTPException) as exc:
        outcome[url] = exc
    else:
        outcome[url] = None


def send(keys, *, urls=None, timeout: float | None = None) -> dict[str, Exception | None]:
    """PURGE `keys` on every proxy now, all at once: {url: None, or what went wrong}. Returns within
    `timeout` (settings.NEWSAPP_PROXY_PURGE_TIMEOUT) whatever the proxies do; failures are logged."""
    keys = sorted(set(keys))
    urls = list(settings.NEWSAPP_PROXY_PURGE_URLS if urls is None else urls)
    timeout = settings.NEWSAPP_PROXY_PURGE_TIMEOUT if timeout is None else timeout
    if not keys or not urls:
        return {}
    outcome: dict[str, Exception | None] = {}
    threads = [
        threading.Thread(
            target=_send_one, args=(url, keys, timeout, outcome), daemon=True, name="proxy-purge"
        )
        for url in urls
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for url in urls:
        failure = outcome.get(url, TimeoutError(f"no answer within {timeout} s"))
        outcome[url] = failure
        if failure is not None:
            logger.warning("proxy purge of %s at %s failed: %s", " ".join(keys), url, failure)
    return outcome


def purge(keys) -> None:
    """Purge `keys` now, and again NEWSAPP_PROXY_REPURGE_SECONDS later.

    Why twice: a request that was rendering from the old content when the change committed (it
    started before, or read a replica not yet there) may hand its page to the proxy after the first
    purge, and the proxy would keep that old page until its s-maxage ends. The page cache refuses to
    let a page out as cacheable when the content version moved during its render, but between its
    last look and the proxy storing the answer there is still a gap; the second purge closes it.
    """
    keys = sorted(set(keys))
    if not keys or not enabled():
        return
    urls, timeout = list(settings.NEWSAPP_PROXY_PURGE_URLS), settings.NEWSAPP_PROXY_PURGE_TIMEOUT
    send(keys, urls=urls, timeout=timeout)
    delay = settings.NEWSAPP_PROXY_REPURGE_SECONDS
    if delay > 0:
        # A daemon timer: a process that exits meanwhile skips it (its pages expire within s-maxage).
        timer = threading.Timer(delay, send, args=(keys,), kwargs={"urls": urls, "timeout": timeout})
        timer.daemon = True
        timer.name = "proxy-repurge"
        timer.start()


class PendingPurge:
    """The keys a transaction touched so far; called once after its commit."""

    def __init__(self):
        self.keys: set[str] = set()
        self.sent = False  # keys added after this would be lost: they start a purge of their own

    def __call__(self):
        self.sent = True
        try:
            purge(self.keys)
        except Exception:  # never into the save that committed: log it, the pages expire soon anyway
            logger.exception("proxy purge of %s failed", " ".join(sorted(self.keys)))


def purge_on_commit(keys, *, using: str | None = None) -> None:
    """Add `keys` to this transaction's purge (started now if there is none yet); outside a
    transaction, purge at once. Call it after the content version's bump was arranged, so it runs
    after it."""
    if not keys:
        return
    connection = connections[using or DEFAULT_DB_ALIAS]
    if connection.in_atomic_block:
        for _, func, _ in connection.run_on_commit:
            if isinstance(func, PendingPurge) and not func.sent:
                func.keys.update(keys)
                return
    pending = PendingPurge()
    pending.keys.update(keys)
    connection.on_commit(pending, robust=True)
