"""The error pages (400, 403, 404, 500, 503), for every app, the admin included; under /api/, the
same errors as the API's JSON ({"detail": ...}), whoever refuses the request (a middleware, Django,
a view).

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

from api.json_error import NO_SUCH_ENDPOINT, json_error

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
# Addresses answered in JSON, errors included: the API's clients are programs (newsapp.urls: api/v1/).
API_PREFIX = "/api/"
# The API's sentence for each error page, when the page is given no reason (its context fills it in).
_API_DETAILS = {
    400: "The request is malformed.",
    403: "This request is not allowed.",
    404: NO_SUCH_ENDPOINT,
    405: "This address does not take that method; the Allow header lists those it does.",
    413: "The request is larger than {limit}, more than any request to the API needs.",
    500: "Something went wrong on our side. The error has been logged; please try again in a minute.",
    503: "Part of the site is not answering right now. Please try again in {retry_after} seconds.",
}


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


def render_error(request, template: str, status: int, *, detail: str = "", **context) -> HttpResponse:
    """The page `template` with `context`; for a request under /api/, the API's JSON error instead,
    saying `detail`, else the page's reason, else the status's own sentence. `request` may be None
    (Django could not build one): a page."""
    if request is not None and request.path_info.startswith(API_PREFIX):
        response = json_error(
            status, detail or context.get("reason") or _API_DETAILS[status].format(**context)
        )
    else:
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
    # The API takes no forms: what reached a view of Django's under /api/ (its docs) is no form either.
    return render_error(
        request, "403.html", 403, reason=reason, detail="The API is read-only: it takes no forms."
    )


class ErrorPageMiddleware:
    """Gives a page to the answers Django sends empty: 405 (a method a view does not take)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content:
            page = render_error(request, "405.html", 405, allowed=response.get("Allow", ""))
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
    return render_error(request, "400.html", 400, reason=_reason(exception))


def permission_denied(request, exception=None):
    return render_error(request, "403.html", 403)


def page_not_found(request, exception=None):
    return render_error(request, "404.html", 404)


def service_unavailable(request, retry_after: int = RETRY_AFTER_SECONDS) -> HttpResponse:
    response = render_error(request, "503.html", 503, retry_after=retry_after)
    response["Retry-After"] = str(retry_after)
    return response


def server_error(request):
    """500, or 503 when what failed is the database being out of reach (Django calls this while
    handling the exception, so it is still at hand)."""
    if unavailable(sys.exception()):
        logger.warning("database unavailable: answered %s with 503", request.path)
        return service_unavailable(request)
    return render_error(request, "500.html", 500)
