"""The API's answers kept in the shared cache under the content version, as the pages are.

The API does not join the page cache (articles.site.cache.pagecache), which answers before any view
runs: its hits would skip the rate limit. Here the view runs its throttle first and then looks up
its answer, so every request counts, hits included. The rest follows the pages: a stored answer is
good while the content version holds and until the next scheduled story is due; the ETag is the
content's digest; Cache-Control is settings.NEWSAPP_PUBLIC_CACHE_CONTROL, no longer than that; the
surrogate key `api` (articles.site.cache.surrogate), which every content change purges from a
caching proxy in front, marks each answer that says public. An error says no-store: nobody keeps it.
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from articles.site.cache import surrogate
from articles.site.cache.content_version import VERSION_KEY
from articles.site.cache.pagecache import NOT_KEPT, content_version, keep_seconds, public_headers

KEY = "api:{digest}"


def _key(request, kept: tuple[str, ...]) -> str:
    """The host (links in an answer are absolute), the path and the query parameters the view reads;
    any others (utm_source, ...) leave the key alone, so they cannot fill the cache."""
    query = "&".join(f"{name}={value}" for name in kept for value in request.GET.getlist(name))
    raw = f"{request.get_host()}{request.path}?{query}"
    return KEY.format(digest=hashlib.blake2b(raw.encode(), digest_size=20).hexdigest())


def conditional(request, response, *, etag: str, stamp: float | None):
    """304 Not Modified when the client holds this answer already (If-None-Match, If-Modified-Since)."""
    last_modified = None if stamp is None else int(stamp)
    return get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)


class ContentVersionCache:
    """Mixed into a read-only API view: its GET and HEAD answers kept per content version, with the
    pages' Cache-Control, when the page cache is on (NEWSAPP_PAGE_CACHE_SECONDS); an ETag either way.

    `kept_params`: the query parameters the view reads (its filters, the cursor, page_size).
    """

    kept_params: tuple[str, ...] = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # content negotiation and the throttle: every request
        self.api_cache = None
        if request.method not in ("GET", "HEAD"):
            return
        key = _key(request, self.kept_params)
        if not settings.NEWSAPP_PAGE_CACHE_SECONDS:
            self.api_cache = (key, content_version(), None)
            return
        # One round trip for both: the answer as stored, and the content version it must match.
        found = cache.get_many([VERSION_KEY, key])
        version = content_version(found.get(VERSION_KEY))
        entry = found.get(key)
        self.api_cache = (key, version, entry)
        if entry is not None and entry[0] == version and entry[-1] > time.time():
            # REST framework's dispatch looks the handler up after initial(): answer with the stored copy.
            self.get = self.head = self._answer_from_cache

    def _answer_from_cache(self, request, *args, **kwargs):
        _, content, content_type, *_ = self.api_cache[2]
        hit = HttpResponse(content, content_type=content_type)
        hit.headers["X-Api-Cache"] = "hit"
        return hit

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(self, "api_cache", None) is None:
            return response
        if response.status_code != 200:
            if not response.has_header("Cache-Control"):
                response.headers["Cache-Control"] = NOT_KEPT  # a story not out yet is a 404 until then
            return response
        key, version, entry = self.api_cache
        if response.get("X-Api-Cache") == "hit":
            _, _, _, etag, stamp, good_until = entry
            public_headers(response, etag=etag, stamp=stamp, good_until=good_until)
            response.headers[surrogate.HEADER] = surrogate.API
            return conditional(request, response, etag=etag, stamp=stamp)
        response.render()
        content = response.content
        etag = f'"{hashlib.blake2b(content, digest_size=16).hexdigest()}"'
        stamp = time.time()
        response.headers["ETag"] = etag
        response.headers["Last-Modified"] = http_date(stamp)
        if not settings.NEWSAPP_PAGE_CACHE_SECONDS:
            # As the pages: without the page cache, no Cache-Control telling others to keep it either.
            return conditional(request, response, etag=etag, stamp=stamp)
        ttl = keep_seconds(version)
        if ttl >= 1:
            entry = (version, content, response["Content-Type"], etag, stamp, stamp + ttl)
            cache.set(key, entry, timeout=max(1, int(ttl)))
            response.headers["X-Api-Cache"] = "miss"
        public_headers(response, etag=etag, stamp=stamp, good_until=stamp + max(0.0, ttl))
        response.headers[surrogate.HEADER] = surrogate.API
        return conditional(request, response, etag=etag, stamp=stamp)
