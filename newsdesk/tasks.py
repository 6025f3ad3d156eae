"""The newsdesk's background work on Django's own tasks framework (django.tasks), whatever backend
settings.TASKS names: the database queue by default (`manage.py db_worker`), RQ to scale out.

Polling schedules itself, with no cron:
- `fetch_feed_task(feed_id=...)` fetches one feed (newsdesk.ingest.fetch_feed), then enqueues its
  own next run with `run_after` = the feed's next fetch time, which the fetch has just set from how
  often the feed publishes, its errors (backoff) and the server's Retry-After / max-age.
- `poll_feeds()`, the sweeper, runs every minute: it enqueues the due feeds that nothing is fetching
  (no lease held) and nothing has queued. A feed whose task was lost (a worker killed mid-fetch,
  a queue emptied by hand) is fetched again once its lease runs out: the lease in Feed.leased_until
  is taken inside fetch_feed, and each feed is written in its own transaction, so nothing is lost.
  The sweeper enqueues its successor before it works, so a worker killed during a sweep still
  leaves the next one queued.
- `start_polling()` (`manage.py feeds schedule`, run by `make run` before the worker) queues the
  sweeper unless one is waiting already; a new feed is queued for a first fetch when it is saved.

A queued fetch that finds its feed not due, inactive, deleted or being fetched does nothing, so a
duplicate is harmless; newsdesk.queued keeps them from being made where the backend can be asked.
Summaries work the same way (newsdesk.summaries.owed): a candidate owes one until a worker holding
its summary lease has made it, and the sweeper queues those whose task was lost.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.tasks import task
from django.utils import timezone

from newsdesk.models import Feed
from newsdesk.queued import waiting_calls

logger = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(seconds=settings.NEWSAPP_TASKS_SWEEP_EVERY)
# A candidate's summary waits this long after a feed touched it: the other feeds reporting the event,
# read meanwhile, join the same summary (one for the lot, not one a feed).
SUMMARY_DELAY = timedelta(seconds=5)


@task
def fetch_feed_task(feed_id: int) -> dict:
    """Fetch one feed if it is due and free, then queue its next run. Returns what it did (kept
    as the task's result)."""
    feed = Feed.objects.filter(pk=feed_id).first()
    if feed is None or not feed.active:
        # The chain of this feed ends here; a feed made active again is queued by the sweeper.
        return {"feed": feed_id, "done": "nothing: the feed is deleted or inactive"}
    now = timezone.now()
    if feed.next_fetch_at is not None and feed.next_fetch_at > now:
        # Fetched since this run was queued (`fetch_feeds --now`, a duplicate): the next run
        # follows the time that fetch set.
        schedule_next(feed)
        return {"feed": feed_id, "done": f"nothing: not due until {feed.next_fetch_at.isoformat()}"}
    if lease_held(feed, now):
        # Whoever holds it queues the next run; if it died, the sweeper does once the lease expires.
        return {"feed": feed_id, "done": "nothing: another worker is fetching it"}
    # Imported here: the web processes load this module (a new feed queues its fetch) but never
    # fetch, and the ingestion brings trafilatura, lxml and feedparser with it.
    from newsdesk import ingest

    report = ingest.fetch_feed(feed, queue_summaries=summaries_queue)
    if report.status == ingest.SKIPPED:
        # Taken by another worker since the check above: its run queues the next one.
        return {"feed": feed_id, "done": f"nothing: {report.error}"}
    feed.refresh_from_db()
    schedule_next(feed)
    return {
        "feed": feed_id,
        "done": report.status,
        "http_status": report.http_status,
        "items": report.items,
        "new_pieces": report.new_pieces,
        "error": report.error,
        "next_fetch_at": _iso(feed.next_fetch_at),
    }


@task
def poll_feeds() -> dict:
    """The sweeper: queue the due, free feeds that are not queued, the owed summaries nobody makes,
    and the next sweep."""
    now = timezone.now()
    sweeps = waiting_calls(poll_feeds)
    if not sweeps:  # another waiting sweep means two chains: this one ends, so one remains
        poll_feeds.using(run_after=now + SWEEP_EVERY).enqueue()
    # A feed due now whose only queued call is for later (a "fetch now" lost with a killed worker,
    # its regular run hours away) is queued again: left alone, it would wait for that later call.
    queued = _queued_feed_ids(runs_by=now + SWEEP_EVERY)
    due = (
        Feed.objects.due(now)
        .filter(models.Q(leased_until__isnull=True) | models.Q(leased_until__lte=now))
        .exclude(pk__in=queued)
        .values_list("pk", flat=True)
    )
    enqueued = []
    for feed_id in due:
        fetch_feed_task.enqueue(feed_id=feed_id)
        enqueued.append(feed_id)
    if enqueued:
        logger.info("Queued %d due feed(s) for fetching: %s", len(enqueued), enqueued)
    # The summaries owed and neither waiting nor being made: lost with a killed worker, or not queued.
    from newsdesk.summaries import owed

    waiting = {call.get("candidate_id") for call in waiting_calls(summarise_task) or []}
    summaries = [candidate_id for candidate_id in owed.owed(now) if candidate_id not in waiting]
    for candidate_id in summaries:
        summarise_task.enqueue(candidate_id=candidate_id)
    if summaries:
        logger.info("Queued %d owed summaries: %s", len(summaries), summaries)
        return {"enqueued": enqueued, "summaries": summaries}
    return {"enqueued": enqueued}


@task
def summarise_task(candidate_id: int) -> dict:
    """Draft the summary of an open candidate from its pieces as they are now (newsdesk.summaries:
    extractive, or a language model's when one is configured), unless another worker is making it
    (newsdesk.summaries.owed: the candidate still owes it, and gets it)."""
    from newsdesk.summaries import owed

    try:
        summary = owed.make(candidate_id)
    except owed.Leased:
        return {"candidate": candidate_id, "done": "nothing: another worker is summarising it"}
    if summary is None:
        return {"candidate": candidate_id, "done": "nothing: not an open candidate with pieces"}
    return {"candidate": candidate_id, "summary": summary.pk, "method": summary.method}


def summaries_queue(candidate_ids) -> set[int]:
    """Mark each candidate as owing a summary SUMMARY_DELAY from now and queue it for then, unless one
    is waiting already. Returns the candidates it could not queue (the queue out of reach): the
    caller summarises those itself."""
    from newsdesk.summaries import owed

    due = timezone.now() + SUMMARY_DELAY
    owed.owe(candidate_ids, at=due)  # first: a summary queued but lost is still owed
    waiting = {call.get("candidate_id") for call in waiting_calls(summarise_task) or []}
    missed = set()
    for candidate_id in sorted(set(candidate_ids) - waiting):
        try:
            summarise_task.using(run_after=due).enqueue(candidate_id=candidate_id)
        except Exception:  # Redis down under RQ: summarised now instead, never lost
            logger.warning("Summary of candidate %s not queued; made at once", candidate_id, exc_info=True)
            missed.add(candidate_id)
    return missed


def start_polling() -> bool:
    """Queue the sweeper to run now unless one is waiting (idempotent: `make run` calls it at
    every start). Returns whether it queued one."""
    if waiting_calls(poll_feeds):
        return False
    poll_feeds.enqueue()
    return True


def schedule_next(feed: Feed) -> bool:
    """Queue the feed's next fetch at its next_fetch_at unless one is queued already. Returns
    whether it queued one."""
    if not feed.active or feed.next_fetch_at is None or feed.pk in _queued_feed_ids():
        return False
    fetch_feed_task.using(run_after=feed.next_fetch_at).enqueue(feed_id=feed.pk)
    return True


def queue_new_feed(sender, instance: Feed, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of Feed: a feed added (admin, `feeds add`, an import) is fetched soon, once the
    transaction that adds it has committed (a dry-run import or a failed one queues nothing). A
    queue that cannot be reached (Redis down) is logged, not an error of the save: the feed is due,
    so the sweeper queues it once the queue is back."""
    if created and not raw and instance.active:
        transaction.on_commit(lambda: fetch_feed_task.enqueue(feed_id=instance.pk), robust=True)


def lease_held(feed: Feed, now) -> bool:
    return feed.leased_until is not None and feed.leased_until > now


def _queued_feed_ids(*, runs_by=None) -> set[int]:
    return {call.get("feed_id") for call in waiting_calls(fetch_feed_task, runs_by=runs_by) or []}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
