"""Sign-in throttling on django-axes: what a failure counts against, and the 429 answer.

Failures are recorded in the database (axes' database handler), so the throttle holds while the
cache is down. A failed sign-in counts against the account and against the client address; so do a
wrong two-factor code and a wrong old password on the password change. A bad share-link token has
no account and counts against the address alone. AXES_FAILURE_LIMIT failures against either within
the cool-off lock it until the cool-off has passed since the failure that reached the limit:
attempts during a lockout are answered 429 and not counted, so the time on the page holds.
"""

import ipaddress
import math
from datetime import datetime, timedelta
from functools import wraps

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_credentials, get_failure_limit, get_lockout_parameters
from axes.models import AccessBase
from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

ACCOUNT, ADDRESS = "username", "ip_address"


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The address failures count against (AXES_CLIENT_IP_CALLABLE): REMOTE_ADDR, or, behind a proxy,
    the header named by NEWSAPP_CLIENT_IP_HEADER.

    When that header holds a list (X-Forwarded-For), the last entry is the one the proxy added;
    earlier ones come from the client and are never believed. A missing or malformed header falls
    back to REMOTE_ADDR (the proxy's address: every client then shares one limit, which fails safe).
    """
    header = settings.NEWSAPP_CLIENT_IP_HEADER
    if header:
        key = header if header.startswith("HTTP_") else "HTTP_" + header.upper().replace("-", "_")
        forwarded = _address(request.META.get(key, "").rsplit(",", 1)[-1])
        if forwarded:
            return forwarded
    return _address(request.META.get("REMOTE_ADDR", ""))


def lockout_parameters(request_or_attempt, credentials=None) -> list[str]:
    """AXES_LOCKOUT_PARAMETERS: per account and per address; per address alone with no account
    (a share-link token), so that such failures never add up across every address."""
    if isinstance(request_or_attempt, AccessBase):
        username = request_or_attempt.username
    else:
        username = get_client_username(request_or_attempt, credentials)
    return [ACCOUNT, ADDRESS] if username else [ADDRESS]


def cool_off(request=None) -> timedelta:
    """AXES_COOLOFF_TIME, from NEWSAPP_LOCKOUT_MINUTES."""
    return timedelta(minutes=settings.NEWSAPP_LOCKOUT_MINUTES)


def refusal(request, *, username: str | None = None) -> HttpResponse | None:
    """The 429 answer when `username` (if any) or the client address is locked out, else None."""
    credentials = get_credentials(username)
    if AxesProxyHandler.is_allowed(request, credentials):
        return None
    return lockout_response(request, None, credentials)


def _storable(request) -> None:
    """What axes keeps of the request (path, user agent, Accept), without NUL characters: a guessed
    address such as /preview/a%00b/ reaches here, and PostgreSQL stores no NUL in text."""
    AxesProxyHandler.update_request(request)
    for name in ("axes_path_info", "axes_user_agent", "axes_http_accept"):
        value = getattr(request, name, None)
        if isinstance(value, str) and "\x00" in value:
            setattr(request, name, value.replace("\x00", "\ufffd"))


def record_failure(request, *, username: str | None = None) -> None:
    """Count one failure against `username` (if any) and the client address. When it reaches the
    limit, axes marks the request and AxesMiddleware answers 429 in place of the page."""
    credentials = get_credentials(username)
    _storable(request)
    AxesProxyHandler.user_login_failed(sender=__name__, credentials=credentials, request=request)


def _lock_ends(request, credentials) -> dict[str, datetime]:
    """When each locked parameter (account, address) unlocks: counting back from the latest failure,
    at the cool-off after the failure that brings the count to the limit (older ones expire sooner)."""
    AxesProxyHandler.update_request(request)
    handler = AxesProxyHandler.get_implementation()
    limit = get_failure_limit(request, credentials)
    parameters = get_lockout_parameters(request, credentials)
    ends = {}
    for parameter, attempts in zip(parameters, handler.get_user_attempts(request, credentials), strict=True):
        counted = 0
        for attempt_time, failures in attempts.order_by("-attempt_time").values_list(
            "attempt_time", "failures_since_start"
        ):
            counted += failures
            if counted >= limit:
                ends[parameter] = attempt_time + cool_off(request)
                break
    return ends


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After and a page saying why and until when.

    The page is rendered without the request, so no context processor (nor the database) is needed.
    """
    ends = _lock_ends(request, credentials)
    now = timezone.now()
    # No failure left on record: the lock ended this very moment (axes cleans up at the boundary).
    until = max(ends.values(), default=now)
    wait = max(0.0, (until - now).total_seconds())
    context = {
        "site_name": settings.NEWSAPP_SITE_NAME,
        "account": ACCOUNT in ends,
        "address": ADDRESS in ends or not ends,
        "until": until,
        "minutes": max(1, math.ceil(wait / 60)),
    }
    response = HttpResponse(render_to_string("429.html", context), status=429)
    # The lock holds up to and including `until` (axes counts failures at most the cool-off old), so
    # the first whole second after it.
    response["Retry-After"] = str(math.floor(wait) + 1)
    add_never_cache_headers(response)
    return response


def limit_wrong_guesses(view):
    """For a view whose 404 means a wrong guess (a share link's token): each 404 counts against the
    client address, and a locked-out address gets 429 before its guess is even looked at."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if refused := refusal(request):
            return refused
        response = view(request, *args, **kwargs)
        if response.status_code == 404:
            record_failure(request)
        return response

    return guarded
