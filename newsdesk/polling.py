"""When and by whom a feed is fetched: its lease (no two workers fetch one feed at once), and the
state a fetch leaves on it: status, error and backoff, validators for the next conditional request,
and a poll interval that follows how often the feed publishes. newsdesk.ingest does the fetching."""

import itertools
import logging
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from newsdesk.feeds import FeedItem
from newsdesk.fetching import FetchResult
from newsdesk.models import Feed

logger = logging.getLogger("newsdesk.ingest")

# Renewed after every item, so it need only outlast one page's read (settings.NEWSAPP_TASKS_LEASE checks
# it does); a worker that dies mid-feed holds the feed up for this long at most. In the database, so it
# holds across the processes and machines of every worker.
LEASE = timedelta(seconds=settings.NEWSAPP_TASKS_LEASE)
MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(hours=6)
MAX_BACKOFF = timedelta(hours=24)  # a feed failing for days is still tried once a day
SKIPPED = "skipped"  # FeedReport.status when the feed was not fetched (not due, leased, inactive)


@dataclass
class FeedReport:
    feed_id: int
    url: str
    status: str = SKIPPED  # a Feed.Status value, or SKIPPED
    http_status: int | None = None
    items: int = 0  # items read from the feed
    pieces: list[int] = field(default_factory=list)  # ids of the pieces added
    from_feed_text: int = 0  # of which the page could not be read: the feed's own text stands in
    copies: int = 0  # of which wire copies of another outlet's piece
    error: str = ""  # why the fetch failed, or why it was skipped
    next_fetch_at: datetime | None = None

    @property
    def new_pieces(self) -> int:
        return len(self.pieces)


class LeaseLost(Exception):
    """The lease ran out and another worker took the feed: this one stops where it is."""


@dataclass
class Lease:
    feed_id: int
    until: datetime

    @classmethod
    def take(cls, feed: Feed, *, now: datetime, force: bool) -> "Lease | None":
        """The feed's lease, taken in one UPDATE (two workers can never both succeed), or None when
        another worker holds it, the feed is inactive, or (unless forced) it is not due."""
        rows = Feed.objects.filter(pk=feed.pk, active=True).filter(
            Q(leased_until__isnull=True) | Q(leased_until__lt=now)
        )
        if not force:
            rows = rows.filter(Q(next_fetch_at__isnull=True) | Q(next_fetch_at__lte=now))
        until = now + LEASE
        return cls(feed.pk, until) if rows.update(leased_until=until) else None

    def renew(self) -> None:
        until = timezone.now() + LEASE
        if not Feed.objects.filter(pk=self.feed_id, leased_until=self.until).update(leased_until=until):
            raise LeaseLost(f"the lease on feed {self.feed_id} ran out")
        self.until = until

    def release(self, **state) -> None:
        """Save the fetch's outcome on the feed and give the lease back; a worker whose lease ran out
        saves nothing, leaving the feed to the one that took it."""
        rows = Feed.objects.filter(pk=self.feed_id, leased_until=self.until)
        if not rows.update(**state, leased_until=None):
            logger.warning("Feed %s: the lease ran out before the fetch was recorded", self.feed_id)


def skip_reason(feed: Feed, *, now: datetime) -> str:
    current = Feed.objects.filter(pk=feed.pk).values("active", "leased_until", "next_fetch_at").first()
    if current is None:
        return "deleted"
    if not current["active"]:
        return "inactive"
    if current["leased_until"] and current["leased_until"] >= now:
        return f"being fetched by another worker (lease until {current['leased_until']:%H:%M:%S})"
    return f"not due until {current['next_fetch_at']:%Y-%m-%d %H:%M:%S}"


def fetch_succeeded(
    feed: Feed, report: FeedReport, *, lease: Lease, started: datetime, result: FetchResult, items
) -> None:
    """Record a 200 (with the feed's `items`) or a 304 (`items` None): no error, the server's
    validators kept for the next conditional request, the next fetch after the poll interval or the
    answer's max-age, whichever is longer."""
    interval = feed.poll_interval if items is None else poll_interval(items, current=feed.poll_interval)
    report.status = Feed.Status.NOT_MODIFIED if result.not_modified else Feed.Status.OK
    report.http_status = result.status
    report.next_fetch_at = timezone.now() + max(interval, timedelta(seconds=result.max_age or 0))
    state = {"items_seen": len(items)} if items is not None else {}
    lease.release(
        last_fetched_at=started,
        last_status=report.status,
        last_http_status=result.status,
        last_error="",
        error_count=0,
        etag=result.etag[:500],
        last_modified_header=result.last_modified[:100],
        poll_interval=interval,
        next_fetch_at=report.next_fetch_at,
        pieces_added=F("pieces_added") + report.new_pieces,
        **state,
    )
    logger.info(
        "Feed %s (%s): %s, %d items, %d new pieces (%d from the feed's text, %d copies)",
        *(feed.pk, feed.url, report.status, report.items, report.new_pieces),
        *(report.from_feed_text, report.copies),
    )


def fetch_failed(
    feed: Feed,
    report: FeedReport,
    *,
    lease: Lease,
    started: datetime,
    reason: str,
    http_status: int | None,
    retry_after: float | None = None,
) -> None:
    """Record a failure: the reason, one more error in a row, and the next try after the poll
    interval doubled for each error in a row (at most MAX_BACKOFF), or the server's Retry-After."""
    reason = reason.replace("\x00", "")  # a server's words in a reason: PostgreSQL refuses NUL
    errors = feed.error_count + 1
    wait = min(feed.poll_interval * 2 ** min(errors, 20), MAX_BACKOFF)
    report.status = Feed.Status.ERROR
    report.http_status = http_status
    report.error = reason
    report.next_fetch_at = timezone.now() + max(wait, timedelta(seconds=retry_after or 0))
    # The validators (etag, last_modified_header) stay those of the last good fetch: the next
    # request then gets the whole feed again, not a 304 for a body that was never wholly read.
    lease.release(
        last_fetched_at=started,
        last_status=Feed.Status.ERROR,
        last_http_status=http_status,
        last_error=reason,
        error_count=errors,
        next_fetch_at=report.next_fetch_at,
        pieces_added=F("pieces_added") + report.new_pieces,
    )
    logger.warning(
        "Feed %s (%s) failed (%d in a row): %s; next try at %s",
        *(feed.pk, feed.url, errors, reason, f"{report.next_fetch_at:%Y-%m-%d %H:%M:%S}"),
    )


def poll_interval(items: list[FeedItem], *, current: timedelta) -> timedelta:
    """How long to wait before the next fetch: half the median gap between the feed's items' dates
    (so a feed publishing hourly is read every half hour), between 5 minutes and 6 hours; `current`
    when fewer than two items are dated."""
    dates = sorted({item.published_at for item in items if item.dated}, reverse=True)
    if len(dates) < 2:
        return current
    gap = statistics.median(newer - older for newer, older in itertools.pairwise(dates))
    return min(max(gap / 2, MIN_INTERVAL), MAX_INTERVAL)
