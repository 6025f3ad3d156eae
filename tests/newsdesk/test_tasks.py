"""newsdesk.tasks: polling that schedules itself (each fetch queues the next with run_after), the
sweeper that picks up what was lost (a feed whose lease ran out), a killed worker that loses nothing,
and the real workers running the queue (db_worker --batch; rqworker in `make test-tasks-rq`).

Tests marked tasks_backend run through whichever backend the settings name, with its real worker;
CI runs them a second time on RQ (Redis). They commit (transaction=True) so a worker in a process of
its own sees their rows."""

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsdesk import ingest, polling, tasks
from newsdesk.fetching.robots import robots_clear
from newsdesk.models import Feed, Piece
from newsdesk.queued import waiting_calls
from tests.newsdesk.servers import serve
from tests.newsdesk.tasks_helpers import (
    ROOT,
    empty_queue,
    make_feed,
    outlet_routes,
    queued_runs,
    run_worker,
    worker_env,
)

pytestmark = pytest.mark.django_db
ITEMS = 3
committing = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def fetching(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True  # the outlet is on 127.0.0.1
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    robots_clear()
    empty_queue()
    yield
    empty_queue()
    robots_clear()


@pytest.fixture
def outlet():
    holder = {}
    with serve(outlet_routes(holder, ITEMS)) as server:
        holder["origin"] = server.origin
        yield server


def feed_requests(server) -> int:
    return sum(seen.path.split("?")[0] == "/feed.xml" for seen in server.requests)


# --- Through the configured backend and its real worker ----------------------------------------------


@pytest.mark.tasks_backend
@committing
def test_a_new_feed_is_fetched_by_the_worker_and_queues_its_next_run_at_its_next_fetch_time(outlet):
    feed = make_feed(outlet)  # saved: its first fetch is queued
    assert [kwargs for kwargs, _ in queued_runs(tasks.fetch_feed_task)] == [{"feed_id": feed.pk}]

    run_worker()

    feed.refresh_from_db()
    assert feed.last_status == Feed.Status.OK and feed.pieces_added == ITEMS
    assert Piece.objects.filter(feed=feed).count() == ITEMS
    # Its next run waits in the queue for the time the fetch set, and only one.
    [(kwargs, run_after)] = queued_runs(tasks.fetch_feed_task)
    assert kwargs == {"feed_id": feed.pk}
    assert feed.next_fetch_at > timezone.now() + timedelta(minutes=4)
    assert abs(run_after - feed.next_fetch_at) < timedelta(seconds=1)
    # Not due: the worker leaves it.
    run_worker()
    assert feed_requests(outlet) == 1


@pytest.mark.tasks_backend
@committing
def test_run_after_holds_a_fetch_until_its_time(outlet):
    # Far enough ahead that the worker has started and found nothing due before the time comes:
    # RQ's starts in a process of its own, which takes seconds on a busy machine, so it is timed.
    started = time.monotonic()
    run_worker()
    soon = timezone.now() + timedelta(seconds=max(3.0, 3 * (time.monotonic() - started)))
    feed = make_feed(outlet, active=False)
    Feed.objects.filter(pk=feed.pk).update(active=True, next_fetch_at=soon)
    tasks.fetch_feed_task.using(run_after=soon).enqueue(feed_id=feed.pk)

    run_worker()
    assert timezone.now() < soon, "the worker took longer than the wait: the test proves nothing"
    assert feed_requests(outlet) == 0  # queued, but not before its time

    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.5)
    run_worker()
    feed.refresh_from_db()
    assert feed_requests(outlet) == 1 and feed.last_status == Feed.Status.OK


@pytest.mark.tasks_backend
@committing
def test_the_sweeper_is_queued_once_fetches_the_due_feeds_and_queues_itself(outlet):
    feed = make_feed(outlet, active=False)
    Feed.objects.filter(pk=feed.pk).update(active=True)  # due, and nothing queued for it
    call_command("feeds", "schedule", verbosity=0)
    call_command("feeds", "schedule", verbosity=0)  # idempotent: `make run` calls it at every start
    assert len(queued_runs(tasks.poll_feeds)) == 1

    before = timezone.now()
    run_worker()
    after = timezone.now()

    feed.refresh_from_db()
    assert feed.last_status == Feed.Status.OK and feed_requests(outlet) == 1
    # The next sweep a minute after this one ran (RQ keeps whole seconds).
    [(_, next_sweep)] = queued_runs(tasks.poll_feeds)
    assert before + tasks.SWEEP_EVERY - timedelta(seconds=1) <= next_sweep <= after + tasks.SWEEP_EVERY


@pytest.mark.tasks_backend
@committing
def test_a_fetch_lost_with_its_worker_is_made_again_once_the_lease_runs_out(outlet):
    # A worker took the feed's lease and died: no task left, the lease still held.
    feed = make_feed(outlet, active=False)
    Feed.objects.filter(pk=feed.pk).update(active=True, leased_until=timezone.now() + polling.LEASE)
    tasks.poll_feeds.enqueue()
    run_worker()
    assert feed_requests(outlet) == 0
    assert queued_runs(tasks.fetch_feed_task) == []  # not queued while the lease holds

    Feed.objects.filter(pk=feed.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    tasks.poll_feeds.enqueue()  # the next sweep
    run_worker()
    feed.refresh_from_db()
    assert feed.last_status == Feed.Status.OK and feed.pieces_added == ITEMS
    assert feed.leased_until is None


# --- The database backend's queue, in this process ---------------------------------------------------


@committing  # db_worker (close_old_connections) would close a test transaction's connection
def test_db_worker_batch_runs_the_queue(outlet):
    first = make_feed(outlet)
    second = Feed.objects.create(outlet=first.outlet, url=outlet.url("/feed.xml?edition=2"))
    DBTaskResult.objects.all().delete()  # their first fetches: the sweeper finds them due
    assert tasks.start_polling() is True
    assert tasks.start_polling() is False
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.last_status == second.last_status == Feed.Status.OK
    assert feed_requests(outlet) == 2
    results = DBTaskResult.objects.filter(task_path="newsdesk.tasks.poll_feeds")
    assert sorted(results.values_list("status", flat=True)) == ["READY", "SUCCESSFUL"]


@committing  # db_worker (close_old_connections) would close a test transaction's connection
def test_a_killed_worker_loses_nothing(outlet):
    """A worker killed mid-fetch: its task row stays RUNNING, the feed's lease held, nothing
    completed. Nothing else fetches it while the lease holds; once it runs out, the sweeper queues it
    and the next worker fetches every item."""
    feed = make_feed(outlet)
    row = DBTaskResult.objects.get(task_path="newsdesk.tasks.fetch_feed_task")  # its first fetch
    row.claim("killed-worker")  # the task started...
    Feed.objects.filter(pk=feed.pk).update(leased_until=timezone.now() + polling.LEASE)  # ...took the lease
    # (and the worker died: no completion, no state saved)

    assert tasks.poll_feeds.call() == {"enqueued": []}
    Feed.objects.filter(pk=feed.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert tasks.poll_feeds.call() == {"enqueued": [feed.pk]}
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)

    feed.refresh_from_db()
    assert feed.last_status == Feed.Status.OK and feed.pieces_added == ITEMS
    assert sorted(Piece.objects.filter(feed=feed).values_list("title", flat=True)) == [
        f"Ferry terminal story {i}" for i in range(ITEMS)
    ]
    row.refresh_from_db()
    assert row.status == "RUNNING"  # the dead run is left as it was; its work was done again


@committing  # db_worker (close_old_connections) would close a test transaction's connection
def test_a_duplicate_fetch_does_nothing_and_leaves_one_next_run(outlet):
    feed = make_feed(outlet)  # its first fetch is queued...
    [first] = DBTaskResult.objects.filter(task_path="newsdesk.tasks.fetch_feed_task")
    second = tasks.fetch_feed_task.enqueue(feed_id=feed.pk)  # ...and a sweep found it due meanwhile
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)
    done = [tasks.fetch_feed_task.get_result(r.id).return_value["done"] for r in (first, second)]
    assert done[0] == Feed.Status.OK
    assert done[1].startswith("nothing: not due until")
    assert feed_requests(outlet) == 1
    feed.refresh_from_db()
    assert queued_runs(tasks.fetch_feed_task) == [({"feed_id": feed.pk}, feed.next_fetch_at)]


def test_a_fetch_leaves_a_feed_being_fetched_to_its_worker(outlet):
    feed = make_feed(outlet)
    Feed.objects.filter(pk=feed.pk).update(leased_until=timezone.now() + timedelta(minutes=5))
    assert tasks.fetch_feed_task.call(feed_id=feed.pk)["done"] == "nothing: another worker is fetching it"
    assert feed_requests(outlet) == 0


def test_an_inactive_or_deleted_feed_ends_its_chain(outlet):
    feed = make_feed(outlet)
    DBTaskResult.objects.all().delete()
    Feed.objects.filter(pk=feed.pk).update(active=False)
    assert tasks.fetch_feed_task.call(feed_id=feed.pk)["done"].startswith("nothing: the feed is deleted")
    feed.delete()
    assert tasks.fetch_feed_task.call(feed_id=feed.pk)["done"].startswith("nothing: the feed is deleted")
    assert feed_requests(outlet) == 0 and waiting_calls(tasks.fetch_feed_task) == []


def test_the_sweeper_skips_queued_inactive_leased_and_later_feeds_and_ends_a_second_chain(outlet):
    queued = make_feed(outlet)
    tasks.fetch_feed_task.enqueue(feed_id=queued.pk)
    leased = Feed.objects.create(outlet=queued.outlet, url=outlet.url("/other.xml"))
    Feed.objects.filter(pk=leased.pk).update(leased_until=timezone.now() + timedelta(minutes=5))
    Feed.objects.create(outlet=queued.outlet, url=outlet.url("/old.xml"), active=False)
    later = Feed.objects.create(outlet=queued.outlet, url=outlet.url("/later.xml"))
    Feed.objects.filter(pk=later.pk).update(next_fetch_at=timezone.now() + timedelta(hours=1))
    due = Feed.objects.create(outlet=queued.outlet, url=outlet.url("/due.xml"))

    assert tasks.poll_feeds.call() == {"enqueued": [due.pk]}
    assert sorted(call["feed_id"] for call in waiting_calls(tasks.fetch_feed_task)) == [queued.pk, due.pk]
    assert len(waiting_calls(tasks.poll_feeds)) == 1  # it queued the next sweep
    # A second chain of sweeps (two queued): the one that runs does not queue another.
    tasks.poll_feeds.enqueue()
    tasks.poll_feeds.call()
    assert len(waiting_calls(tasks.poll_feeds)) == 2


def test_a_feed_fetched_by_hand_moves_its_queued_run(outlet):
    """`fetch_feeds --now` fetched it meanwhile: the queued run finds it not due and queues the
    next at the new time (the chain follows), without fetching."""
    feed = make_feed(outlet)
    DBTaskResult.objects.all().delete()
    ingest.fetch_feed(feed, force=True)
    feed.refresh_from_db()
    assert tasks.fetch_feed_task.call(feed_id=feed.pk)["done"].startswith("nothing: not due")
    assert queued_runs(tasks.fetch_feed_task) == [({"feed_id": feed.pk}, feed.next_fetch_at)]
    assert feed_requests(outlet) == 1


def test_a_new_feed_is_queued_once_its_transaction_commits(outlet, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        feed = make_feed(outlet)
    assert waiting_calls(tasks.fetch_feed_task) == []  # queued on commit only
    for callback in callbacks:
        callback()
    assert waiting_calls(tasks.fetch_feed_task) == [{"feed_id": feed.pk}]


@pytest.mark.postgres
@committing
def test_a_worker_killed_mid_fetch_loses_nothing():
    """For real: a db_worker in a process of its own is killed (SIGKILL) while it reads an article
    page. The pieces it stored are kept, its task row stays RUNNING and the lease held; once the
    lease runs out the sweeper queues the feed and the next worker stores the rest, once each."""
    holder, blocked, release = {}, threading.Event(), threading.Event()
    routes = outlet_routes(holder, ITEMS)
    page = routes["/story-1"]

    def stalled(request):
        blocked.set()
        release.wait(30)
        return page

    routes["/story-1"] = stalled
    with serve(routes) as server:
        holder["origin"] = server.origin
        feed = make_feed(server)  # its first fetch is queued
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
            ],
            cwd=ROOT,
            env=worker_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert blocked.wait(60), "the worker never reached the article page"
            worker.kill()
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        feed.refresh_from_db()
        assert feed.leased_until > timezone.now() and feed.last_fetched_at is None
        row = DBTaskResult.objects.get(task_path="newsdesk.tasks.fetch_feed_task")
        assert row.status == "RUNNING"
        # The item before the stalled one was stored whole, in its own transaction; none after.
        assert list(Piece.objects.values_list("title", flat=True)) == ["Ferry terminal story 0"]

        release.set()
        assert tasks.poll_feeds.call() == {"enqueued": []}  # the lease still holds
        Feed.objects.filter(pk=feed.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
        assert tasks.poll_feeds.call() == {"enqueued": [feed.pk]}
        run_worker()

    feed.refresh_from_db()
    assert feed.last_status == Feed.Status.OK
    titles = sorted(Piece.objects.values_list("title", flat=True))
    assert titles == [f"Ferry terminal story {i}" for i in range(ITEMS)]  # each once


def test_a_queue_out_of_reach_does_not_fail_the_feeds_save(
    outlet, monkeypatch, django_capture_on_commit_callbacks
):
    def unreachable(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.fetch_feed_task.get_backend(), "enqueue", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        feed = make_feed(outlet)  # saved; the error is logged (robust on_commit)
    assert Feed.objects.filter(pk=feed.pk).exists()
    monkeypatch.undo()
    assert tasks.poll_feeds.call()["enqueued"] == [feed.pk]  # the sweeper queues it


# --- Summaries: one a candidate, queued a little after the feeds that touch it -------------------


def test_a_workers_fetch_queues_one_summary_a_candidate_once_and_the_task_makes_it(outlet):
    from newsdesk.models import Candidate, Summary

    feed = make_feed(outlet)
    DBTaskResult.objects.all().delete()
    ingest.fetch_feed(feed, force=True, queue_summaries=tasks.summaries_queue)
    touched = set(Candidate.objects.values_list("pk", flat=True))
    assert touched and not Summary.objects.exists()  # nothing summarised inside the fetch
    waiting = waiting_calls(tasks.summarise_task)
    assert sorted(call["candidate_id"] for call in waiting) == sorted(touched)
    # A second feed touching the same candidates before the summaries ran queues no more.
    assert tasks.summaries_queue(touched) == set()
    assert len(waiting_calls(tasks.summarise_task)) == len(touched)
    for candidate_id in touched:
        result = tasks.summarise_task.call(candidate_id=candidate_id)
        assert result["method"] == Summary.Method.EXTRACTIVE
    assert set(Summary.objects.values_list("candidate", flat=True)) == touched


def test_fetching_by_hand_summarises_at_once_and_a_queue_out_of_reach_does_too(outlet, monkeypatch):
    from newsdesk.models import Summary

    feed = make_feed(outlet)
    ingest.fetch_feed(feed, force=True)  # fetch_feeds --now: the summaries are there when it ends
    assert Summary.objects.exists()
    Summary.objects.all().delete()
    Piece.objects.all().delete()
    Feed.objects.filter(pk=feed.pk).update(etag="", last_modified_header="")

    def refuse(*args, **kwargs):
        raise ConnectionError("queue out of reach")

    monkeypatch.setattr(type(tasks.summarise_task.get_backend()), "enqueue", refuse)
    ingest.fetch_feed(feed, force=True, queue_summaries=tasks.summaries_queue)
    assert Summary.objects.exists()


def test_a_summary_task_for_a_dismissed_or_empty_candidate_does_nothing():
    from newsdesk.models import Candidate

    dismissed = Candidate.objects.create(
        title="x", status=Candidate.Status.DISMISSED, first_published_at=timezone.now(),
        last_published_at=timezone.now(),
    )  # fmt: skip
    assert "nothing" in tasks.summarise_task.call(candidate_id=dismissed.pk)["done"]
    assert "nothing" in tasks.summarise_task.call(candidate_id=10**9)["done"]
