"""The sweeper and a feed due now whose only queued call is for later: what happens after a worker is
killed during a "fetch now" (the feed's lease runs out, its regular run is hours away). It is
queued again at once, not left to wait for that later call; a call about to run is enough."""

from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk import tasks
from newsdesk.models import Feed
from newsdesk.queued import waiting_calls
from tests.factories import SourceFactory
from tests.newsdesk.tasks_helpers import empty_queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queue():
    empty_queue()
    yield
    empty_queue()


def due_feed(url: str, *, queued_in: timedelta | None) -> Feed:
    """A feed due a minute ago whose lease ran out (a worker died fetching it), with a call of its
    fetch queued `queued_in` from now (None: none)."""
    now = timezone.now()
    feed = Feed.objects.create(outlet=SourceFactory(), url=url)
    Feed.objects.filter(pk=feed.pk).update(
        next_fetch_at=now - timedelta(minutes=1), leased_until=now - timedelta(seconds=5)
    )
    empty_queue()  # the first fetch its creation queued
    if queued_in is not None:
        tasks.fetch_feed_task.using(run_after=now + queued_in).enqueue(feed_id=feed.pk)
    return feed


def test_a_due_feed_queued_only_for_later_is_queued_now():
    feed = due_feed("https://a.example/rss", queued_in=timedelta(hours=6))
    assert tasks.poll_feeds.call() == {"enqueued": [feed.pk]}
    assert waiting_calls(tasks.fetch_feed_task, runs_by=timezone.now()) == [{"feed_id": feed.pk}]


def test_a_due_feed_whose_call_runs_within_the_sweep_is_left_to_it():
    feed = due_feed("https://b.example/rss", queued_in=timedelta(seconds=20))
    assert tasks.poll_feeds.call() == {"enqueued": []}
    assert waiting_calls(tasks.fetch_feed_task) == [{"feed_id": feed.pk}]


def test_a_call_queued_without_run_after_counts_as_running_soon():
    feed = due_feed("https://c.example/rss", queued_in=None)
    tasks.fetch_feed_task.enqueue(feed_id=feed.pk)
    assert waiting_calls(tasks.fetch_feed_task, runs_by=timezone.now()) == [{"feed_id": feed.pk}]
    assert tasks.poll_feeds.call() == {"enqueued": []}
