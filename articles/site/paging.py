"""Paging through stories at any depth in bounded time.

The first pages are numbered (`?page=3`: an OFFSET of at most a few hundred rows, and "Page 3 of
N" from a count kept in the cache; the count stops past what the numbered pages can show, so a long
list says "Page 3 of 25+" instead of counting its whole archive). Past them, "Older" links carry a
cursor (`?before=<time>-<id>`) and each page is one index range scan from that point, however deep
in the archive it is.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.core.exceptions import BadRequest
from django.db.models import Q
from django.http import Http404

from articles.site.cache.content_version import content_version

PAGE_SIZE = 20
MAX_NUMBERED_PAGE = 25  # OFFSET never above 480 rows
MAX_PAGE_DIGITS = 7
COUNT_SECONDS = 60  # a scheduled story going live changes counts without any save
_CURSOR = re.compile(r"^(\d{1,20})-(\d{1,20})$")


@dataclass
class Page:
    object_list: list
    number: int | None
    num_pages: int | None
    newer_url: str | None
    older_url: str | None
    more_pages: bool = False  # older stories than the numbered pages hold (reached by cursor)

    @property
    def label(self) -> str:
        if not self.number:
            return "Older stories"
        if not self.num_pages:
            return "Latest stories"
        return f"Page {self.number} of {self.num_pages}{'+' if self.more_pages else ''}"

    @property
    def has_other_pages(self) -> bool:
        return bool(self.newer_url or self.older_url)


def page_number(request) -> int:
    """The requested page: a malformed number is the reader's mistake (400), never a server error."""
    raw = request.GET.get("page", "1").strip() or "1"
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_PAGE_DIGITS or int(raw) < 1:
        raise BadRequest(f"“{raw[:20]}” is not a page number: pages are numbered 1, 2, 3 …")
    return int(raw)


def encode_cursor(article) -> str:
    micros = int(article.published_at.timestamp() * 1_000_000)
    return f"{micros}-{article.pk}"


def decode_cursor(raw: str) -> tuple[datetime, int]:
    match = _CURSOR.match(raw)
    if not match:
        raise BadRequest("That “older stories” link is damaged; start again from the first page.")
    micros, pk = int(match[1]), int(match[2])
    try:
        when = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise BadRequest("That “older stories” link is damaged; start again from the first page.") from exc
    return when, pk


def url_with(request, **params) -> str:
    query = request.GET.copy()
    for name, value in params.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else request.path


def cached_count(queryset, scope: str) -> int:
    key = f"count:{content_version()}:{scope}"
    count = cache.get(key)
    if count is None:
        count = queryset.count()
        cache.set(key, count, timeout=COUNT_SECONDS)
    return count


def paginate(
    request,
    queryset,
    *,
    scope: str,
    per_page: int = PAGE_SIZE,
    first_page_size: int | None = None,
    numbered: bool = True,
) -> Page:
    """A page of stories newest first (`queryset` ordered by -published_at, -pk).

    `first_page_size`: page 1 is shown elsewhere with that many stories (the front page), and page 2
    carries on right after them. `numbered=False`: cursors from the first page on, and no count
    (for lists whose count would cost a scan). Malformed page numbers or cursors are a 400; past the
    end, a 404.
    """
    first = per_page if first_page_size is None else first_page_size
    if "before" in request.GET:
        when, pk = decode_cursor(request.GET["before"])
        older = queryset.filter(
            Q(published_at__lt=when) | Q(published_at=when, pk__lt=pk), published_at__lte=when
        )
        rows = list(older[: per_page + 1])
        if not rows:
            raise Http404("There are no older stories.")
        items = rows[:per_page]
        older_url = (
            url_with(request, page=None, before=encode_cursor(items[-1])) if len(rows) > per_page else None
        )
        return Page(items, None, None, url_with(request, page=None, before=None), older_url)
    number = page_number(request)
    if not numbered:
        if number != 1:
            raise Http404("This list is paged with its “Older” links.")
        rows = list(queryset[: per_page + 1])
        older_url = (
            url_with(request, before=encode_cursor(rows[per_page - 1])) if len(rows) > per_page else None
        )
        return Page(rows[:per_page], 1, None, None, older_url)
    if number > MAX_NUMBERED_PAGE:
        raise Http404(f"Pages past {MAX_NUMBERED_PAGE} are reached with the “Older” links.")
    numbered_stories = first + (MAX_NUMBERED_PAGE - 1) * per_page
    total = cached_count(queryset[: numbered_stories + 1], scope)  # counting stops just past them
    more_pages = total > numbered_stories
    total = min(total, numbered_stories)
    num_pages = 1 + max(0, -(-(total - first) // per_page))
    if number > num_pages:
        raise Http404(f"There is no page {number}; this list has {num_pages}.")
    start = 0 if number == 1 else first + (number - 2) * per_page
    items = list(queryset[start : start + (first if number == 1 else per_page)])
    newer_url = url_with(request, page=number - 1 if number > 2 else None) if number > 1 else None
    older_url = None
    if number < num_pages:
        older_url = url_with(request, page=number + 1)
    elif more_pages:
        older_url = url_with(request, page=None, before=encode_cursor(items[-1]))
    return Page(items, number, num_pages, newer_url, older_url, more_pages)
