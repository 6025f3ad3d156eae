"""ReplicaMiddleware: which requests may read from the replica, and read-your-writes.

A reader's GET or HEAD reads from the replica when all of these hold: not signed in
(pagecache.signed_in), no valid `pinned` cookie, not under PRIMARY_PATHS, the replica up and at most
NEWSAPP_REPLICA_MAX_LAG behind, and it has replayed the content LSN of the request's content version
(newsapp.replicas.lsn). Anything else reads from the primary. Any other method may write: its answer
sets the signed `pinned` cookie, so the same browser reads from the primary for
NEWSAPP_REPLICA_PIN_SECONDS and sees what it wrote.

If the replica fails under a reader's request (refused, gone away, a query cancelled by replay), the
request is run again on the primary: the reader gets the primary's answer, never an error of the
replica's. A replica whose connection no longer works is marked down until its next check.

Placed right after the page cache: a page served from the cache never gets here, and on a miss the
page cache has set request.content_version, the version the rendered page will be kept under.
Without a replica configured, this middleware is not in the chain at all (MiddlewareNotUsed).
"""

import logging

from django.conf import settings
from django.core import signing
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections
from django.http import HttpResponse

from articles.site.cache.content_version import content_version
from articles.site.cache.pagecache import signed_in
from newsapp.replicas.health import health
from newsapp.replicas.lsn import required_lsn
from newsapp.replicas.routing import DEFAULT, REPLICA, current_reads, reads_from, replica_configured

logger = logging.getLogger(__name__)

PINNED_COOKIE = "pinned"
_PINNED_SALT = "newsapp.replicas.pinned"
READ_METHODS = ("GET", "HEAD")
# Methods that never write (RFC 9110's safe methods): no pin for them.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
# Read from the primary whoever asks: the admin and the newsdesk (under /admin/), sign-in pages,
# draft previews shared by link (a draft an editor has just saved), and the health probes (live
# touches nothing, not even the replica's check; ready checks the primary and reports the replica).
PRIMARY_PATHS = ("/admin/", "/accounts/", "/preview/", "/healthz/")


def pinned(request) -> bool:
    """Whether the request carries a pin this site set less than NEWSAPP_REPLICA_PIN_SECONDS ago."""
    value = request.COOKIES.get(PINNED_COOKIE)
    if not value:
        return False
    try:
        signing.TimestampSigner(salt=_PINNED_SALT).unsign(value, max_age=settings.NEWSAPP_REPLICA_PIN_SECONDS)
    except signing.BadSignature:
        return False
    return True


def pin(response) -> None:
    """Read from the primary for the next NEWSAPP_REPLICA_PIN_SECONDS (set on every write)."""
    response.set_cookie(
        PINNED_COOKIE,
        signing.TimestampSigner(salt=_PINNED_SALT).sign("1"),
        max_age=settings.NEWSAPP_REPLICA_PIN_SECONDS,
        path=settings.SESSION_COOKIE_PATH,
        domain=settings.SESSION_COOKIE_DOMAIN,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def reads_for(request) -> str:
    """The database a request's reads go to: REPLICA or DEFAULT. The cheap tests come first; the
    replica's state is a measurement kept in this process (checked when due)."""
    if request.method not in READ_METHODS or request.path_info.startswith(PRIMARY_PATHS):
        return DEFAULT
    if signed_in(request) or pinned(request):
        return DEFAULT
    state = health.current()
    if not state.usable():
        return DEFAULT
    needed = required_lsn(getattr(request, "content_version", None) or content_version())
    if needed is None or state.replayed_lsn < needed:
        return DEFAULT
    return REPLICA


class ReplicaMiddleware:
    def __init__(self, get_response):
        if not replica_configured():
            raise MiddlewareNotUsed("no replica configured (DATABASE_REPLICA_URL)")
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in SAFE_METHODS:
            response = self.get_response(request)
            pin(response)
            return response
        if reads_for(request) == DEFAULT:
            return self.get_response(request)
        replica = connections[REPLICA]
        if replica.errors_occurred:
            # Left by an earlier failure on this thread's connection: start afresh.
            replica.close()
            replica.errors_occurred = False
        with reads_from(REPLICA) as reads:
            response = self.get_response(request)
        if not replica.errors_occurred:
            return response
        self._replica_failed(request, replica, reads.failure)
        return self.get_response(request)  # once more, on the primary

    def process_exception(self, request, exception):
        """An exception while reading from the replica: an answer of our own, never sent (__call__
        runs the request again on the primary), so Django neither logs a server error nor renders
        the error page for it."""
        reads = current_reads()
        if reads is None or not connections[REPLICA].errors_occurred:
            return None
        reads.failure = exception
        return HttpResponse(status=503)

    @staticmethod
    def _replica_failed(request, replica, failure) -> None:
        usable = replica.connection is not None and replica.is_usable()
        if not usable:
            replica.close()
            health.mark_down(type(failure).__name__ if failure else "connection lost")
        replica.errors_occurred = False
        health.fell_back()
        logger.warning(
            "replica failed under %s %s (%s); answered from the primary%s",
            request.method,
            request.path,
            failure or "an error the page handled",
            "" if usable else ", replica marked down until its next check",
        )
