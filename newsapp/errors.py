"""The error pages (400, 403, 404, 500, 503), for every app, the admin included.

They are rendered from their templates alone, with the site's name and a reason in plain words:
no context processors, so nothing touches the request's host (a forged Host header is what the 400
page answers), its query string or body (too many fields), the database or the cache (either may
be what failed). A page that needs the database while it is unreachable gets the 503 page with
Retry-After instead of a 500.
"""

import logging
import sqlite3
import sys

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
# What a reader is told for the suspicious requests Django refuses (its own messages are written
# for developers, and DisallowedHost's names the setting to change).
_REASONS = (
    (DisallowedHost, "This site does not answer to that host name."),
    (TooManyFieldsSent, "The request carries more fields than any page of ours sends."),
    (TooManyFilesSent, "The request carries more files than any page of ours sends."),
    (RequestDataTooBig, "The request is larger than any page of ours sends."),
)
# SQLite's OperationalErrors that mean "not now" rather than "not this query" (a pattern too
# complex, a missing table): the file is locked, cannot be opened or read.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")


def unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` means the database cannot be reached right now (refused, reset, timed out,
    locked), as opposed to a query it refused."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.__cause__, sqlite3.Error):
        return any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE)
    return True  # PostgreSQL's OperationalErrors are connection failures, shutdowns and timeouts


def render_error(template: str, status: int, **context) -> HttpResponse:
    html = loader.get_template(template).render({"site_name": settings.NEWSAPP_SITE_NAME, **context})
    response = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    if status >= 500:
        add_never_cache_headers(response)  # a passing trouble: no cache between us and the reader may keep it
    return response


def _reason(exception) -> str:
    for kind, reason in _REASONS:
        if isinstance(exception, kind):
            return reason
    # Our own BadRequest messages are written for readers; other refusals stay generic.
    if type(exception) is BadRequest and exception.args:
        return str(exception)
    return ""


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: a form that was not ours, or whose token expired."""
    reason = (
        "This form has expired or was sent from somewhere else. Go back, reload the page and send it "
        "again (it needs cookies from this site)."
    )
    return render_error("403.html", 403, reason=reason)


class ErrorPageMiddleware:
    """Gives a page to the answers Django sends empty: 405 (a method a view does not take)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content:
            page = render_error("405.html", 405, allowed=response.get("Allow", ""))
            page["Allow"] = response.get("Allow", "")
            return page
        return response


class WithoutTraceback(logging.Filter):
    """For refusals of requests that are wrong (a host we do not serve, too many fields): one line
    each in the log, not a traceback of our own code, which has nothing wrong."""

    def filter(self, record):
        record.exc_info = record.exc_text = None
        return True


def bad_request(request, exception=None):
    return render_error("400.html", 400, reason=_reason(exception))


def permission_denied(request, exception=None):
    return render_error("403.html", 403)


def page_not_found(request, exception=None):
    return render_error("404.html", 404)


def service_unavailable(retry_after: int = RETRY_AFTER_SECONDS) -> HttpResponse:
    response = render_error("503.html", 503, retry_after=retry_after)
    response["Retry-After"] = str(retry_after)
    return response


def server_error(request):
    """500, or 503 when what failed is the database being out of reach (Django calls this while
    handling the exception, so it is still at hand)."""
    if unavailable(sys.exception()):
        logger.warning("database unavailable: answered %s with 503", request.path)
        return service_unavailable()
    return render_error("500.html", 500)
