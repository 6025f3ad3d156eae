"""Anonymous page cache: whole public pages kept in the shared cache (Redis in production).

A hit costs one cache round trip (the content version; the page too unless this worker keeps a
copy of it) and runs no SQL and no template.
Every content change bumps the content version (articles.content_version), so every app server
sharing the cache serves the new page at once. A stored page also expires when the next scheduled
story is due, so scheduled stories appear on time without any background job.

Each page goes out with its surrogate keys (articles.site.cache.surrogate), kept with it, so that a
caching proxy in front can be purged of exactly the pages a change touched; a page whose content
changed while it was being rendered goes out marked for nobody to keep.

Never cached: requests from a signed-in session (staff, editors), anything under the admin, search,
non-GET requests, responses that set a cookie, and anything but a 200. A session cookie alone does
not count as signed in: anyone can send `sessionid=x`, and if that skipped the cache, anyone could
switch it off. Sessions this site issued carry a signed companion cookie (SIGNED_IN_COOKIE), checked
without any I/O.

When the cache is unreachable it answers as empty (newsapp.redis_cache): every page is rendered
from the database and nothing is stored.
"""

import hashlib
import threading
import time
from collections import OrderedDict
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.csp import CSP, build_policy
from django.utils.http import http_date

from articles.site.cache import surrogate
from articles.site.cache.content_version import VERSION_KEY, bump_content_version, content_version, stored

__all__ = ["AnonymousPageCacheMiddleware", "bump_content_version", "content_version"]

NEXT_PUBLISH_KEY = "content:next-publish:{version}"
PAGE_KEY = "{host}:{path}?{query}"
CACHEABLE_VIEWS = frozenset({
    "articles:home", "articles:section", "articles:article", "articles:source", "articles:sources",
    "articles:feed_rss", "articles:feed_atom", "articles:section_feed_rss", "articles:section_feed_atom",
    "articles:sitemap_index", "articles:sitemap", "articles:sitemap_month", "articles:news_sitemap",
    "coverage:methodology", "coverage:balance",
    "coverage:blindspot", "coverage:blindspot_rss", "coverage:blindspot_atom",
})  # fmt: skip
# Query parameters a cached page may depend on; any others (utm_source, ...) are left out of the key.
KEPT_PARAMS = ("page", "p", "before", "lean")
STORED_HEADERS = ("Content-Type", "Content-Language", "X-Robots-Tag", "Location", surrogate.HEADER)
# For an answer no cache may keep: an error or a redirect of a page view (a story not out yet is a
# 404 until its time, and must not stay one), or a page rendered while the content changed.
NOT_KEPT = "no-store"
NO_SCHEDULED = "none"
# Set beside the session cookie whenever it is set; its value is the session key's digest, signed.
SIGNED_IN_COOKIE = "signedin"
_SIGNED_IN_SALT = "newsapp.pagecache.signed-in"
# The CSP header's name as a plain str: runserver's WSGI server refuses any other type (CSP's
# members are a StrEnum).
_CSP_HEADER = str(CSP.HEADER_ENFORCE)


def seconds_until_next_publish(version: int) -> float | None:
    """How long until the next scheduled story goes live (None when nothing is scheduled)."""
    key = NEXT_PUBLISH_KEY.format(version=version)
    stamp = cache.get(key)
    now = time.time()
    if stamp is None or (stamp != NO_SCHEDULED and stamp <= now):
        from articles.models import Article  # the cache layer must not import models at start-up

        when: datetime | None = (
            Article.objects.scheduled()
            .order_by("published_at")
            .values_list("published_at", flat=True)
            .first()
        )
        stamp = when.timestamp() if when else NO_SCHEDULED
        cache.set(key, stamp, timeout=max(1, settings.NEWSAPP_PAGE_CACHE_SECONDS))
    return None if stamp == NO_SCHEDULED else max(0.0, stamp - now)


_views: dict[tuple[str, str], str | None] = {}  # (URLconf, path) -> view name: resolve() once a path


def _view_name(path: str) -> str | None:
    key = (settings.ROOT_URLCONF, path)
    try:
        return _views[key]
    except KeyError:
        pass
    try:
        name = resolve(path).view_name
    except Resolver404:
        name = None
    if len(_views) >= 10_000:  # any path can be asked for: keep the memo bounded
        _views.clear()
    _views[key] = name
    return name


def _session_digest(session_key: str) -> str:
    return hashlib.blake2b(session_key.encode(), digest_size=16).hexdigest()


def signed_in_value(session_key: str) -> str:
    """The SIGNED_IN_COOKIE value that goes with this session key."""
    return signing.TimestampSigner(salt=_SIGNED_IN_SALT).sign(_session_digest(session_key))


def signed_in(request) -> bool:
    """Whether the request comes from a session this site issued (and has not expired): the
    session cookie with its signed companion. A made-up or expired cookie is a reader like any other."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    marker = request.COOKIES.get(SIGNED_IN_COOKIE)
    if not session_key or not marker:
        return False
    try:
        digest = signing.TimestampSigner(salt=_SIGNED_IN_SALT).unsign(
            marker, max_age=settings.SESSION_COOKIE_AGE
        )
    except signing.BadSignature:
        return False
    return digest == _session_digest(session_key)


def _follow_session_cookie(response) -> None:
    """Set or delete the signed companion wherever the session middleware set or deleted the
    session cookie (this middleware sits outside it, so it sees that cookie on the way out)."""
    morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return
    if not morsel.value or morsel["max-age"] == 0:
        response.delete_cookie(
            SIGNED_IN_COOKIE, path=settings.SESSION_COOKIE_PATH, domain=settings.SESSION_COOKIE_DOMAIN
        )
        return
    response.set_cookie(SIGNED_IN_COOKIE, signed_in_value(morsel.value))
    companion = response.cookies[SIGNED_IN_COOKIE]
    for attribute in ("expires", "max-age", "path", "domain", "secure", "httponly", "samesite"):
        companion[attribute] = morsel[attribute]  # lives and dies with the session cookie


def _cacheable_request(request) -> bool:
    if request.method not in ("GET", "HEAD") or signed_in(request):
        return False
    return _view_name(request.path_info) in CACHEABLE_VIEWS


def _key(request) -> str:
    query = "&".join(f"{name}={request.GET[name]}" for name in KEPT_PARAMS if name in request.GET)
    digest = hashlib.blake2b(
        PAGE_KEY.format(host=request.get_host(), path=request.path, query=query).encode(), digest_size=20
    ).hexdigest()
    return f"page:{digest}"


def keep_seconds(version: int) -> float:
    """How long an answer made now under `version` may be kept, by us and by others: the page
    cache's time, cut short by the next scheduled story (0 when the database went away meanwhile:
    keep nothing). The pages and the API's answers follow this one rule."""
    try:
        due = seconds_until_next_publish(version)
    except DatabaseError:
        return 0.0
    ttl = settings.NEWSAPP_PAGE_CACHE_SECONDS
    return ttl if due is None else min(ttl, due)


def cache_control(left: int) -> str:
    """settings.NEWSAPP_PUBLIC_CACHE_CONTROL as a header, max-age and s-maxage at most `left`.

    stale-while-revalidate (and stale-if-error) let a cache serve the answer that much longer after
    it expired (Varnish takes it as grace): they are cut so that freshness and staleness together
    still end within `left`, and left out when nothing is left: no page outlives the next story's
    publish time, even stale."""
    config = settings.NEWSAPP_PUBLIC_CACHE_CONTROL
    fresh = {
        name: min(config[name], left)
        for name in ("max_age", "s_maxage")
        if config.get(name) not in (None, False)
    }
    spare = left - max(fresh.values(), default=0)
    directives = []
    for name, value in config.items():
        directive = name.replace("_", "-")
        if value is True:
            directives.append(directive)
        elif name in fresh:
            directives.append(f"{directive}={fresh[name]}")
        elif name.startswith("stale_") and value is not False:
            if min(value, spare) > 0:
                directives.append(f"{directive}={min(value, spare)}")
        elif value is not False:
            directives.append(f"{directive}={value}")
    return ", ".join(directives)


def public_headers(response, *, etag: str, stamp: float, good_until: float) -> None:
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(stamp)
    # Browsers and CDNs may keep the page no longer than we do: not past the next scheduled story.
    response.headers["Cache-Control"] = cache_control(max(0, int(good_until - time.time())))


def _changed_since(version: str) -> bool:
    """Whether the content changed since `version` was read. With the cache away there is no
    counter to compare (each read makes one up): then only the database's count tells."""
    counter = cache.get(VERSION_KEY)
    if counter is None:
        return not version.endswith(f"-{stored.current()}")
    return content_version(counter) != version


_policy: tuple = (None, None)  # (settings.SECURE_CSP it was built from, the header)


def _csp_header() -> str | None:
    """The Content-Security-Policy header, built once rather than on every hit (a cached page
    carries no nonce, so the header is the same for all of them)."""
    global _policy
    config = settings.SECURE_CSP
    if _policy[0] is not config:
        sources = [value for value in (config or {}).values() if isinstance(value, list | tuple)]
        uses_nonce = any(CSP.NONCE in value for value in sources)
        _policy = (config, build_policy(config) if config and not uses_nonce else None)
    return _policy[1]


def _current(entry, version) -> bool:
    """Good while the content has not changed since it was stored, and until its own deadline (the
    cache's TTL is only a ceiling; the deadline is exact)."""
    return entry is not None and entry[0] == version and entry[-1] > time.time()


class _LocalPages:
    """The most used pages, kept in this worker too, so that a hit moves a few bytes (the version)
    over the network instead of the whole page. Always checked against the shared version first."""

    def __init__(self, size: int):
        self.size = size
        self.pages: OrderedDict[str, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            entry = self.pages.get(key)
            if entry is not None:
                self.pages.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple) -> None:
        with self.lock:
            self.pages[key] = entry
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


_local = _LocalPages(size=256)


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.NEWSAPP_PAGE_CACHE_SECONDS or not _cacheable_request(request):
            response = self.get_response(request)
            _follow_session_cookie(response)
            if settings.SESSION_COOKIE_NAME in request.COOKIES and not response.has_header("Cache-Control"):
                # A signed-in editor's copy of a page must never be kept by a shared cache.
                patch_cache_control(response, private=True)
            return response
        key = _key(request)
        local = _local.get(cache.make_key(key))
        if local is not None:
            # This worker has the page already: ask the shared cache only whether it is still current.
            version = content_version()
            entry = local if _current(local, version) else cache.get(key)
        else:
            # One round trip for both: the page as stored, and the content version it must match.
            found = cache.get_many([VERSION_KEY, key])
            version = content_version(found.get(VERSION_KEY))
            entry = found.get(key)
        if _current(entry, version):
            if entry is not local:
                _local.put(cache.make_key(key), entry)
            _, status, headers, content, etag, stamp, _ = entry
            response = HttpResponse(content, status=status, headers=headers)
            if policy := _csp_header():  # the CSP middleware leaves a header it finds alone
                response.headers[_CSP_HEADER] = policy
            public_headers(response, etag=etag, stamp=stamp, good_until=entry[-1])
            response.headers["X-Page-Cache"] = "hit"
            return get_conditional_response(request, etag=etag, last_modified=int(stamp), response=response)
        request.content_version = version  # pages' fragments are kept under it (articles.fragments)
        response = self.get_response(request)
        control = response.get("Cache-Control", "")
        if response.status_code != 200:
            if not control:
                response.headers["Cache-Control"] = NOT_KEPT
            return response
        if response.streaming or response.cookies or "private" in control:
            return response
        if "no-store" in control or "no-cache" in control:
            return response
        content = response.content
        if keys := surrogate.header_value(request, html=response["Content-Type"].startswith("text/html")):
            response.headers[surrogate.HEADER] = keys
        if _changed_since(version):
            # The content changed while this page was rendered: it may show the old content, and the
            # change's purge of the proxy may have gone by already. Neither we nor the proxy keep it.
            response.headers["Cache-Control"] = NOT_KEPT
            response.headers["X-Page-Cache"] = "miss"
            return response
        etag = f'"{hashlib.blake2b(content, digest_size=16).hexdigest()}"'
        stamp = time.time()
        ttl = keep_seconds(version)
        if ttl >= 1:
            headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
            entry = (version, response.status_code, headers, content, etag, stamp, stamp + ttl)
            cache.set(key, entry, timeout=max(1, int(ttl)))
            _local.put(cache.make_key(key), entry)
        public_headers(response, etag=etag, stamp=stamp, good_until=stamp + max(0.0, ttl))
        response.headers["X-Page-Cache"] = "miss"
        return get_conditional_response(request, etag=etag, last_modified=int(stamp), response=response)
