"""Fetching a feed into pieces: the feed's lease taken (no two workers fetch one feed at once), the feed
fetched with a conditional request and parsed, each new item's page read, the piece stored, grouped
into a story candidate and checked for being a wire copy, each in its own transaction; then the touched
candidates' summaries, and the feed's state with its next fetch time.

    report = fetch_feed(feed)          # when due; force=True fetches now (never under another's lease)
    reports = fetch_feeds(feeds)       # one after another; one feed's failure never stops the others

A broken feed raises nothing: it is recorded on the feed (last_error, error_count, a next fetch backed
off exponentially) and logged on the "newsdesk.ingest" logger."""

import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from newsdesk import grouping, sections
from newsdesk.feeds import FeedError, FeedItem, parse_feed, web_url
from newsdesk.fetching import FetchError, fetch
from newsdesk.models import Candidate, Feed, Piece
from newsdesk.pieces import (
    COPY_OVERLAP,
    NEAR_BITS,
    Extracted,
    canonical_url,
    extract,
    fingerprint,
    is_copy,
    overlap,
)
from newsdesk.polling import (
    SKIPPED,
    FeedReport,
    Lease,
    LeaseLost,
    fetch_failed,
    fetch_succeeded,
    skip_reason,
)
from newsdesk.summaries import owed

logger = logging.getLogger("newsdesk.ingest")

# A page's text replaces the feed's own only when it is real text, and not a teaser shorter than it.
MIN_PAGE_WORDS = 30
IMAGE_URL = Piece._meta.get_field("image_url")

__all__ = ["SKIPPED", "FeedReport", "fetch_feed", "fetch_feeds"]


def fetch_feeds(feeds, *, force: bool = False) -> list[FeedReport]:
    """fetch_feed for each feed, in order; a failure is in its report and the next feed is fetched."""
    reports = []
    for feed in feeds:
        try:
            reports.append(fetch_feed(feed, force=force))
        except Exception as error:  # fetch_feed records its own failures; this is a last guard
            logger.exception("Feed %s (%s) could not be fetched", feed.pk, feed.url)
            reports.append(FeedReport(feed.pk, feed.url, status=Feed.Status.ERROR, error=str(error)[:300]))
    return reports


def fetch_feed(
    feed: Feed, *, force: bool = False, queue_summaries: Callable[[set[int]], set[int]] | None = None
) -> FeedReport:
    """Fetch `feed` if it is due (or now with force) and no other worker holds it; store its new items
    as pieces. Never raises: what went wrong is in the report and on the feed.

    The candidates it touched get a new summary: made here (`fetch_feeds --now`, which a reader
    expects to see finished), or handed to `queue_summaries` (the worker passes
    newsdesk.tasks.summaries_queue: once a candidate, a few seconds later, whatever number of feeds
    touch it meanwhile), which returns those it could not queue, made here then."""
    report = FeedReport(feed.pk, feed.url)
    started = timezone.now()
    lease = Lease.take(feed, now=started, force=force)
    if lease is None:
        report.error = skip_reason(feed, now=started)
        return report
    touched: set[int] = set()
    try:
        feed.refresh_from_db()  # what the last worker recorded: validators, errors, interval
        _fetch(feed, report, lease=lease, started=started, touched=touched)
    except Exception as error:
        # Whatever broke (a bug, the database), the pieces stored so far are whole and kept, and the
        # feed is tried again after a backoff, its validators unchanged so the next fetch reads it all.
        logger.exception("Feed %s (%s) stopped", feed.pk, feed.url)
        reason = str(error) if isinstance(error, LeaseLost) else f"{type(error).__name__}: {error}"
        _guarded(fetch_failed, feed, report, lease=lease, started=started, reason=reason, http_status=None)
    # The touched candidates' proposed sections, then their summaries: once a candidate, not a piece.
    _guarded(sections.sections_propose, touched)
    if queue_summaries is not None:
        try:
            touched = queue_summaries(touched)
        except Exception:  # the queue or the database out of reach: made here instead
            logger.exception("Feed %s: summaries not queued; made now", feed.pk)
    _guarded(_summaries_make, touched)
    return report


def _fetch(feed: Feed, report: FeedReport, *, lease: Lease, started: datetime, touched: set[int]) -> None:
    try:
        result = fetch(feed.url, purpose="feed", etag=feed.etag, last_modified=feed.last_modified_header)
    except FetchError as error:
        fetch_failed(
            feed,
            report,
            lease=lease,
            started=started,
            reason=error.reason,
            http_status=error.status,
            retry_after=error.retry_after,
        )
        return
    if result.not_modified:
        fetch_succeeded(feed, report, lease=lease, started=started, result=result, items=None)
        return
    try:
        parsed = parse_feed(result.body, content_type=result.content_type, url=result.url, fetched_at=started)
    except FeedError as error:
        fetch_failed(
            feed, report, lease=lease, started=started, reason=error.reason, http_status=result.status
        )
        return
    report.items = len(parsed.items)
    seen: set[str] = set()
    for item in parsed.items:
        lease.renew()
        _item_store(feed, item, report=report, seen=seen, touched=touched)
    fetch_succeeded(feed, report, lease=lease, started=started, result=result, items=parsed.items)


def _item_store(feed: Feed, item: FeedItem, *, report: FeedReport, seen: set[str], touched: set[int]) -> None:
    try:
        url = canonical_url(item.url)
    except ValueError:
        return
    if url in seen or _stored({url}):
        return
    seen.add(url)
    page, final_url = _page_read(item.url)
    if page is not None and _known_elsewhere(page, final_url=final_url, url=url):
        return
    piece = _piece_build(feed, item, url=url, page=page)
    try:
        IMAGE_URL.run_validators(piece.image_url)
    except ValidationError:
        piece.image_url = ""  # a picture address we would not accept is no reason to lose the piece
    try:
        piece.full_clean(validate_unique=False)
    except ValidationError as error:
        logger.warning("Feed %s: item %s left out: %s", feed.pk, item.url, error.messages)
        return
    with transaction.atomic():
        try:
            with transaction.atomic():
                piece.save()
        except IntegrityError:
            return  # another worker stored it meanwhile, from another feed listing it
        candidate = grouping.group_piece(piece)
        # Outlet counts: a copy counts as its original.
        for changed in Candidate.objects.filter(pk__in=_copies_mark(piece)):
            grouping.candidate_refresh(changed)
    report.pieces.append(piece.pk)
    report.copies += piece.copy_of_id is not None
    report.from_feed_text += piece.extraction == Piece.Extraction.FEED
    touched.add(candidate.pk)


def _page_read(url: str) -> tuple[Extracted | None, str]:
    """The page's main text and metadata, or None (robots.txt said no, an error, not an article)."""
    try:
        result = fetch(url, purpose="page")
    except FetchError as error:
        logger.info("Page %s not read: %s", canonical_url(url), error.reason)  # without a password
        return None, url
    try:
        # Without a declared charset, the bytes: trafilatura reads the page's own <meta charset>.
        return extract(result.text if result.charset else result.body, result.url), result.url
    except Exception:  # the extractor's bugs on odd pages must not lose the item: its feed text stays
        logger.warning("Page %s could not be read by the extractor", url, exc_info=True)
        return None, result.url


def _known_elsewhere(page: Extracted, *, final_url: str, url: str) -> bool:
    """Whether the page (after redirects, or by its canonical link on its own host) is a piece
    stored under another URL. An outlet's canonical link to another site (a syndicated copy pointing
    at the wire) is not followed: that piece is still this outlet's."""
    others = {canonical_url(final_url)}
    canonical = web_url(page.canonical_url, final_url)
    if canonical and urlsplit(canonical).hostname == urlsplit(final_url).hostname:
        others.add(canonical_url(canonical))
    others.discard(url)
    return bool(others) and _stored(others)


def _stored(urls: set[str]) -> bool:
    """Whether a piece is stored under one of `urls`, by http or by https (one page, whichever
    scheme a feed links it with)."""
    schemes = {"http": "https", "https": "http"}
    variants = {f"{schemes[url.split(':', 1)[0]]}:{url.split(':', 1)[1]}" for url in urls}
    return Piece.objects.filter(url__in=urls | variants).exists()


def _piece_build(feed: Feed, item: FeedItem, *, url: str, page: Extracted | None) -> Piece:
    feed_words = len(item.text.split())
    page_words = len(page.text.split()) if page else 0
    from_page = page_words >= MIN_PAGE_WORDS and page_words >= 0.8 * feed_words
    published_at = item.published_at
    if not item.dated and page and page.published_at and page.published_at <= published_at:
        published_at = page.published_at
    text = page.text if from_page else item.text
    return Piece(
        outlet_id=feed.outlet_id,
        feed=feed,
        url=url,
        title=(item.title or (page.title if page else "") or url)[:500],
        author=(item.author or (page.author if page else ""))[:300],
        published_at=published_at,
        language=((page.language if page else "") or item.language)[:16],
        image_url=item.image_url or (web_url(page.image_url, url) if page else ""),
        text=text,
        extraction=Piece.Extraction.PAGE if from_page else Piece.Extraction.FEED,
        fingerprint=fingerprint(text),
    )


def _copies_mark(piece: Piece) -> set[int]:
    """Mark wire copies among the piece's candidate's pieces from other outlets: the earliest of a
    near-identical set is the original, the others its copies. The candidates of the pieces marked."""
    if not piece.fingerprint:
        return set()
    others = (
        Piece.objects.filter(candidate_id=piece.candidate_id)
        .exclude(outlet_id=piece.outlet_id)
        .exclude(fingerprint=0)
        .only("pk", "fingerprint")
    )
    near = [other.pk for other in others if is_copy(piece.fingerprint, other.fingerprint, bits=NEAR_BITS)]
    if not near:
        return set()
    # The fingerprint shortlists, the texts decide (SimHash alone mistakes a few same-event pieces).
    copies = [
        other
        for other in Piece.objects.filter(pk__in=near).only("pk", "text", "copy_of_id")
        if overlap(piece.text, other.text) >= COPY_OVERLAP
    ]
    if not copies:
        return set()
    originals = list(Piece.objects.filter(pk__in={c.copy_of_id or c.pk for c in copies}))
    earliest = min([*originals, piece], key=lambda p: (p.published_at, p.pk))
    if earliest is piece:
        # Read later, published first: this piece is the original the others copied (they may
        # have been grouped elsewhere with copies of their own).
        marked = Piece.objects.filter(Q(pk__in=[o.pk for o in originals]) | Q(copy_of__in=originals))
        candidates = set(marked.values_list("candidate_id", flat=True))
        marked.update(copy_of=piece)
        return candidates | {piece.candidate_id}
    piece.copy_of = earliest
    piece.save(update_fields=["copy_of"])
    return {piece.candidate_id}


def _summaries_make(touched: set[int]) -> None:
    """Summarise the candidates now, each under its summary lease (owed.make): one a worker is making
    stays owed, and is made again after it if pieces came meanwhile."""
    owed.owe(touched, at=timezone.now())
    for candidate_id in sorted(touched):
        try:
            owed.make(candidate_id)
        except owed.Leased:
            logger.info("Summary of candidate %s: another worker is making one", candidate_id)
        except Exception:  # a summary failing leaves the candidate owing one (the sweeper retries)
            logger.exception("Summary of candidate %s failed", candidate_id)


def _guarded(function, *args, **kwargs) -> None:
    try:
        function(*args, **kwargs)
    except Exception:  # the database itself failing: the lease runs out and the feed is fetched again
        logger.exception("newsdesk ingestion: %s failed", function.__name__)
