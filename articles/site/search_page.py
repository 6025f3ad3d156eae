"""The search results page: a page of ranked results, and anonymous readers' pages kept briefly.

A word many readers search for at once (a breaking story) is ranked once a minute rather than on
every request. Pages are kept whole (the navigation included, so a repeat runs no SQL) under the
query as it is searched (so "-- glacier" and "-glacier" share one), the page number, the address
the page was built for, and the content version: any change to a story, an outlet or a section
replaces them at once (articles.signals). A story going live on schedule changes no version, so a
page is never kept past the next scheduled story's moment, as whole pages are not (articles.pagecache).

Never kept: signed-in users' pages, rejected queries, anything but a plain 200; nor anything while
whole pages are not (NEWSAPP_PAGE_CACHE_SECONDS=0: turned off, or no cache shared by every worker,
in which a change seen by one worker would not reach the others' copies). When the cache is
unreachable it answers as empty (newsapp.redis_cache), so every search runs and nothing is kept.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.http import urlencode

from articles.site import search
from articles.site.cache.pagecache import content_version, seconds_until_next_publish
from articles.site.paging import PAGE_SIZE, Page

CACHE_SECONDS = 60
CACHE_KEY = "search:{version}:{digest}"
CACHE_HEADER = "X-Search-Cache"  # hit or miss, for operators (as X-Page-Cache on other pages)


def cache_key(request, query: search.Query, number: int) -> str | None:
    """Where this page is kept, or None when it must not be."""
    if not settings.NEWSAPP_PAGE_CACHE_SECONDS or request.user.is_authenticated:
        return None
    # Links in the page are absolute (canonical, Open Graph): the address is part of what it says.
    place = f"{request.scheme}://{request.get_host()}{request.path}"
    digest = hashlib.blake2b(f"{place}\n{query}\n{number}".encode(), digest_size=20).hexdigest()
    return CACHE_KEY.format(version=content_version(), digest=digest)


def cached(key: str) -> HttpResponse | None:
    content = cache.get(key)
    if content is None:
        return None
    response = HttpResponse(content)
    response[CACHE_HEADER] = "hit"
    return response


def keep(key: str, response: HttpResponse) -> None:
    """Keep the page, never past the moment the next scheduled story goes live (it may match)."""
    timeout = min(CACHE_SECONDS, settings.NEWSAPP_PAGE_CACHE_SECONDS)
    due = seconds_until_next_publish(content_version())
    if due is not None:
        timeout = min(timeout, int(due))
    if timeout >= 1 and response.status_code == 200 and not response.streaming and not response.cookies:
        cache.set(key, response.content, timeout=timeout)
    response[CACHE_HEADER] = "miss"


def results(query: search.Query, number: int) -> dict:
    """The template's context for page `number` of the results (two queries)."""
    found = search.matches(query)
    count = len(found.ids)
    num_pages = max(1, -(-count // PAGE_SIZE))

    def url(page: int) -> str:  # built from the query as searched: the page is the same for any spelling
        return "?" + urlencode({"q": str(query), **({"page": page} if page > 1 else {})})

    context = {"count": count, "more": found.more, "first_page_url": url(1)}
    if number > num_pages:
        return context | {"past_end": number, "last_page": num_pages}
    shown = search.stories(query, found.ids[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
    newer = url(number - 1) if number > 1 else None
    older = url(number + 1) if number < num_pages else None
    return context | {"page": Page(shown, number, num_pages, newer, older), "results": shown}
