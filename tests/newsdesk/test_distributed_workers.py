"""Several workers at once, one of them killed (SIGKILL, its whole process group) while it reads a feed.

Three real workers of the configured backend (`rqworker --with-scheduler` in `make test-tasks-rq`,
`db_worker` on PostgreSQL otherwise) on this run's database and queue; nine outlets on a local server,
three of them slow (each article page takes a second), whose four stories each report the same four
events, so every candidate is touched by every feed at about the same moment. Each feed's fetch is
queued three times and the sweeper started; once a worker is inside a slow feed, reading one of its
first pages, its process group is killed. Then:

- every feed is fetched, the killed one again once its lease ran out (the sweeper queued it);
- every piece is stored once and whole (grouped; the pieces' count in the term table matches);
- no feed is ever read by two workers at the same moment: the server counts a request for a feed
  while another for the same feed is in flight as an overlap, and there are none;
- every candidate's summary is made, never twice from the same pieces, and is current at the end;
- each feed's next fetch is queued (the chain goes on without the killed task);
- nothing is left running but the killed task: on RQ its started-registry entry lapses with its
  heartbeat (at most the job monitoring interval + 60 s, which RQ fixes) and RQ's own cleanup then
  moves it to the failed registry (run here at that moment rather than waited for); on the database
  backend its row stays RUNNING (django-tasks-db has no heartbeat; docs/newsdesk.md says so).

The leases and the sweep are shortened by settings (NEWSAPP_TASKS_LEASE, NEWSAPP_TASKS_SWEEP_EVERY)
so the whole takes well under a minute."""

import threading
import time
from collections import Counter, defaultdict
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from newsdesk import tasks
from newsdesk.fetching.robots import robots_clear
from newsdesk.grouping import ALL_PIECES
from newsdesk.models import Candidate, Feed, Piece, Summary, Term
from newsdesk.queued import waiting_calls
from newsdesk.summaries import owed, summarise
from tests.factories import SourceFactory
from tests.newsdesk.servers import Reply, serve
from tests.newsdesk.tasks_helpers import (
    empty_queue,
    on_rq,
    queued_runs,
    running_results,
    scheduler_group,
    worker_tasks,
    workers,
)

pytestmark = [pytest.mark.tasks_backend, pytest.mark.postgres]

OUTLETS, SLOW_OUTLETS, ITEMS = 9, 3, 4
SLOW = 1.0  # seconds a slow outlet's article page takes
LEASE = 13  # > 2 * (host wait 1 + timeout 5), as the settings demand; 5 s for a page, on a busy machine
WORKER_ENV = {
    "NEWSAPP_TASKS_LEASE": str(LEASE),
    "NEWSAPP_TASKS_SWEEP_EVERY": "1",
    "NEWSAPP_TASKS_RQ_MAINTENANCE": "5",
    "NEWSAPP_FETCH_TIMEOUT": "5",
    "NEWSAPP_FETCH_HOST_WAIT": "1",
}
EVENTS = [
    "The harbour authority opened the new ferry terminal at Kestrel Quay on Tuesday, with berths for "
    "four ships, a covered walkway to the station and a car park for three hundred cars.",
    "Firefighters contained the Ashcombe moorland wildfire after three days, the county fire service "
    "said, after helicopters dropped water on the last burning slopes near Ravensdale village.",
    "The Northfield rovers beat Castlegate united three goals to one in the regional cup final at "
    "Meadow Park stadium, with their striker Okafor scoring twice in the second half.",
    "The city council approved the Lindenbrook tram extension, adding six stops and four kilometres "
    "of track between the university hospital and the western business district by 2029.",
]
NOW = datetime.now(UTC).replace(microsecond=0)


class Outlets:
    """The outlets' server: per outlet, its requests in flight, the most at once, the overlaps (a
    request arriving while another for the same outlet is in flight) and the paths asked for."""

    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight: dict[int, list[str]] = defaultdict(list)
        self.overlaps: Counter[int] = Counter()
        self.paths: dict[int, list[str]] = defaultdict(list)
        routes = {"/robots.txt": Reply(404, b"none")}
        for outlet in range(OUTLETS):
            routes[f"/o{outlet}/feed.xml"] = self.route(outlet, self.feed)
            for item in range(ITEMS):
                routes[f"/o{outlet}/story-{item}"] = self.route(outlet, self.page)
        self.routes = routes
        self.origin = ""

    def route(self, outlet: int, answer):
        def handle(request):
            path = request.path.split("?", 1)[0]
            with self.lock:
                self.overlaps[outlet] += bool(self.in_flight[outlet])
                self.in_flight[outlet].append(path)
                self.paths[outlet].append(path)
            try:
                if outlet < SLOW_OUTLETS and "story-" in path:
                    time.sleep(SLOW)
                request.reply(answer(outlet, path))  # a reader killed meanwhile: broken pipe, ignored
            finally:
                with self.lock:
                    self.in_flight[outlet].remove(path)

        return handle

    def feed(self, outlet: int, path: str) -> Reply:
        items = "".join(
            f"<item><title>{self.headline(outlet, item)}</title>"
            f"<link>{self.origin}/o{outlet}/story-{item}</link>"
            f"<guid>{self.origin}/o{outlet}/story-{item}</guid>"
            f"<pubDate>{format_datetime(NOW - timedelta(hours=item + outlet / 10))}</pubDate>"
            f"<description>{EVENTS[item]}</description></item>"
            for item in range(ITEMS)
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Outlet {outlet}</title><link>{self.origin}/o{outlet}/</link>"
            f"<description>News</description>{items}</channel></rss>"
        )
        return Reply(body=body.encode(), content_type="application/rss+xml; charset=utf-8")

    def page(self, outlet: int, path: str) -> Reply:
        item = int(path.rsplit("-", 1)[1])
        body = (
            f"<html><head><title>{self.headline(outlet, item)}</title></head><body><article>"
            f"<h1>{self.headline(outlet, item)}</h1><p>{EVENTS[item]}</p>"
            f"<p>Outlet {outlet} reported from the scene. {EVENTS[item]}</p></article></body></html>"
        )
        return Reply(body=body.encode(), content_type="text/html; charset=utf-8")

    @staticmethod
    def headline(outlet: int, item: int) -> str:
        return f"{EVENTS[item].split(',')[0][:70]} (outlet {outlet})"


def rq_queue():
    import django_rq
    from django_tasks_rq import Job

    return django_rq.get_queue("default", job_class=Job)  # the class a worker's cleanup uses


def registries_empty() -> None:
    """RQ's started and failed registries, which a killed worker's job goes through, emptied."""
    if on_rq():
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        queue = rq_queue()
        for registry in (StartedJobRegistry(queue=queue), FailedJobRegistry(queue=queue)):
            for job_id in registry.get_job_ids():
                with suppress(Exception):  # a job half-recorded by a killed worker: its key alone goes
                    queue.fetch_job(job_id).delete()
            queue.connection.delete(registry.key)


@pytest.fixture(autouse=True)
def queue():
    robots_clear()
    empty_queue()
    registries_empty()
    yield
    empty_queue()
    registries_empty()


def summaries_made() -> int:
    """How many summaries there are, each candidate having one at least and none made twice from the
    same pieces (what two workers summarising one candidate at the same moment would leave)."""
    made = 0
    for candidate in Candidate.objects.prefetch_related("summaries__pieces"):
        drawn = [frozenset(p.pk for p in s.pieces.all()) for s in candidate.summaries.all()]
        assert drawn, f"candidate {candidate.pk} has no summary"
        assert len(drawn) == len(set(drawn)), f"candidate {candidate.pk}: one summary made twice"
        assert candidate.summary_leased_until is None and candidate.summary_due_at is None
        made += len(drawn)
    return made


def wait_for(check, *, seconds: float, what: str, workers_=()):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    logs = "\n".join(f"--- {w.name}\n{w.output()[-3000:]}" for w in workers_)
    raise AssertionError(f"{what}: not within {seconds} s\n{logs}")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_three_workers_one_killed_mid_fetch_lose_nothing_and_never_share_a_feed():
    outlets = Outlets()
    started = time.monotonic()
    with serve(outlets.routes) as server:
        outlets.origin = server.origin
        feeds = [
            Feed.objects.create(outlet=SourceFactory(), url=server.url(f"/o{n}/feed.xml"))
            for n in range(OUTLETS)
        ]  # each saved feed queues its first fetch
        outlet_of = {feed.pk: n for n, feed in enumerate(feeds)}
        for feed in feeds:  # and two more: the lease must keep all but one away
            tasks.fetch_feed_task.enqueue(feed_id=feed.pk)
            tasks.fetch_feed_task.enqueue(feed_id=feed.pk)
        assert tasks.start_polling()

        with workers(3, **WORKER_ENV) as crew:
            names = {w.name: w for w in crew}

            def victim():
                """A worker, not the one running RQ's scheduler, reading a slow feed's first pages."""
                with outlets.lock:
                    reading = {n for n in range(SLOW_OUTLETS) for p in outlets.in_flight[n] if "story-" in p}
                    reading -= {n for n in reading if f"story-{ITEMS - 1}" in outlets.in_flight[n]}
                keeper = scheduler_group()
                for name, (path, kwargs, result_id) in worker_tasks(names).items():
                    feed_id = kwargs.get("feed_id")
                    mid_fetch = path.endswith("fetch_feed_task") and outlet_of.get(feed_id) in reading
                    if mid_fetch and names[name].process.pid != keeper:
                        return names[name], feed_id, result_id
                return None

            killed, killed_feed, killed_task = wait_for(
                victim, seconds=40, what="a worker inside a slow feed", workers_=crew
            )
            killed.kill()
            killed_at = time.monotonic()
            cut = Feed.objects.get(pk=killed_feed)
            assert cut.leased_until > timezone.now() and cut.last_fetched_at is None, "not cut mid-fetch"
            stored_then = Piece.objects.filter(feed=cut).count()
            assert stored_then < ITEMS

            def settled():
                feeds_done = Feed.objects.filter(last_status=Feed.Status.OK, leased_until=None).count()
                return (
                    feeds_done == OUTLETS
                    and not waiting_calls(tasks.summarise_task)
                    and not waiting_calls(tasks.fetch_feed_task, runs_by=timezone.now())
                    and running_results() <= {killed_task}
                    and not Candidate.objects.exclude(summary_due_at=None).exists()
                )

            wait_for(settled, seconds=60, what="every feed fetched and summarised", workers_=crew)
            settled_at = time.monotonic()
            made = summaries_made()

            # Then every candidate's summary at once, each queued three times: one worker makes it.
            candidate_ids = list(Candidate.objects.values_list("pk", flat=True))
            Summary.objects.all().delete()
            owed.owe(candidate_ids, at=timezone.now())
            for candidate_id in candidate_ids:  # side by side in the queue: taken at the same moment
                for _ in range(3):
                    tasks.summarise_task.enqueue(candidate_id=candidate_id)
            wait_for(settled, seconds=20, what="every summary made again", workers_=crew)
            remade_at = time.monotonic()
            remade = summaries_made()
            assert remade == len(candidate_ids)
            survivors_ok = all(w.process.poll() is None for w in crew if w is not killed)
            assert survivors_ok, "a surviving worker died"

    # No feed read by two workers at once; every feed read, the killed one twice.
    assert sum(outlets.overlaps.values()) == 0, dict(outlets.overlaps)
    reads = {n: outlets.paths[n].count(f"/o{n}/feed.xml") for n in range(OUTLETS)}
    assert reads == {n: 2 if n == outlet_of[killed_feed] else 1 for n in range(OUTLETS)}

    # Every piece stored once, whole: grouped, and counted once in the term table.
    titles = Counter(Piece.objects.values_list("title", flat=True))
    expected = {Outlets.headline(o, i) for o in range(OUTLETS) for i in range(ITEMS)}
    assert set(titles) == expected and max(titles.values()) == 1
    assert not Piece.objects.filter(candidate=None).exists()
    assert Term.objects.get(text=ALL_PIECES).pieces == OUTLETS * ITEMS
    for feed in Feed.objects.all():
        assert feed.pieces_added == ITEMS or feed.pk == killed_feed, feed
    assert Feed.objects.get(pk=killed_feed).pieces_added == ITEMS - stored_then

    # Every candidate's summary current: nothing newer to make from its pieces.
    candidates = list(Candidate.objects.all())
    for candidate in candidates:
        assert summarise(candidate) == candidate.summaries.first()

    # Each feed's next fetch is queued, the killed one's too.
    next_runs = Counter(kwargs["feed_id"] for kwargs, _ in queued_runs(tasks.fetch_feed_task))
    assert set(next_runs) == set(outlet_of)

    # Nothing running but the killed task, which RQ's cleanup moves to failed once its heartbeat lapses.
    assert running_results() <= {killed_task}
    if on_rq():
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        started_jobs = StartedJobRegistry(queue=rq_queue(), job_class=rq_queue().job_class)  # as a worker's
        [(_, lapses_at)] = started_jobs.connection.zrange(started_jobs.key, 0, -1, withscores=True)
        assert lapses_at - time.time() <= 30 + 60  # RQ's job monitoring interval + its fixed 60 s
        assert FailedJobRegistry(queue=rq_queue()).get_job_ids() == []  # no task failed
        assert tasks.fetch_feed_task.get_result(killed_task).status == "RUNNING"
        started_jobs.cleanup(timestamp=lapses_at + 1)  # what a worker's maintenance does by then
        assert FailedJobRegistry(queue=rq_queue()).get_job_ids() == [killed_task]
        assert tasks.fetch_feed_task.get_result(killed_task).status == "FAILED"
        assert running_results() == set()
    else:
        from django_tasks_db.models import DBTaskResult

        assert DBTaskResult.objects.filter(status="FAILED").count() == 0
        assert running_results() == {killed_task}  # the known leftover, harmless

    print(
        f"\n{'RQ' if on_rq() else 'database'}: {OUTLETS} feeds, 3 workers, 1 killed; "
        f"kill {killed_at - started:.1f} s after the start, settled {settled_at - killed_at:.1f} s later, "
        f"summaries again in {remade_at - settled_at:.1f} s, {time.monotonic() - started:.1f} s in all; "
        f"overlaps {sum(outlets.overlaps.values())}, "
        f"pieces {sum(titles.values())} ({sum(titles.values()) - len(titles)} duplicates), "
        f"candidates {len(candidates)}, summaries {made} (then {remade} from {3 * remade} calls at once), "
        f"next runs queued {sum(next_runs.values())}"
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_asked_to_stop_exit_at_once():
    """SIGTERM (a deploy, systemd stopping a unit): an idle worker exits within seconds. RQ's own
    worker often took a minute, waiting for its pubsub thread (newsdesk/rq_worker.py says why)."""
    with workers(3) as crew:
        wait_for(lambda: all(w.ready() for w in crew), seconds=40, what="workers started", workers_=crew)
        time.sleep(1)  # idle, waiting for a task
    assert [w.process.returncode for w in crew] == [0, 0, 0]
    assert max(w.stopped_in for w in crew) < 10, [round(w.stopped_in, 1) for w in crew]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_queue_emptied_under_running_workers_fills_again():
    """Redis restarted empty (the cluster's keeps nothing on disk), or its queue emptied by hand: every
    waiting task is lost, the sweeper's chain with them. A worker's maintenance queues the sweeper
    again (newsdesk/rq_worker.py), which queues the feeds that come due."""
    if not on_rq():
        pytest.skip("RQ's queue, in Redis; the database backend's is a table, emptied only by hand")
    outlets = Outlets()
    with serve(outlets.routes) as server:
        outlets.origin = server.origin
        feed = Feed.objects.create(outlet=SourceFactory(), url=server.url("/o5/feed.xml"))
        fetched = Feed.objects.filter(pk=feed.pk, last_status=Feed.Status.OK, leased_until=None)
        with workers(2, **WORKER_ENV | {"NEWSAPP_TASKS_RQ_MAINTENANCE": "1"}) as crew:
            chained = lambda: fetched.exists() and [at for _, at in queued_runs(tasks.fetch_feed_task) if at]  # noqa: E731
            wait_for(chained, seconds=40, what="the feed fetched, its next run queued", workers_=crew)
            connection = rq_queue().connection
            connection.delete(*connection.scan_iter("rq:*"))  # queue, scheduled tasks, workers' records
            assert not waiting_calls(tasks.poll_feeds) and not waiting_calls(tasks.fetch_feed_task)
            emptied = time.monotonic()
            # Its time comes: the run it had queued for now went with the queue.
            Feed.objects.filter(pk=feed.pk).update(next_fetch_at=timezone.now())
            again = lambda: outlets.paths[5].count("/o5/feed.xml") == 2 and fetched.exists()  # noqa: E731
            wait_for(again, seconds=20, what="the feed fetched again", workers_=crew)
            took = time.monotonic() - emptied
            assert len(waiting_calls(tasks.poll_feeds)) == 1  # one chain of sweeps again
    print(f"\nqueue emptied: the due feed fetched again {took:.1f} s later")
