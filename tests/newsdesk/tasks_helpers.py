"""What the tasks' tests share: a local outlet serving a feed and its article pages, and the worker of
whichever task backend the settings name, run for real until its queue is empty.

With the database backend the worker is django-tasks-db's `db_worker --batch`, in this process. With
RQ (NEWSAPP_TASKS_BACKEND=rq, `make test-tasks-rq`) it is `manage.py rqworker --burst --with-scheduler`
in a process of its own, on the test database (PostgreSQL: a second process cannot open the in-memory
SQLite of a test run), so those tests commit (django_db(transaction=True)). A Redis or a worker that
cannot start fails the test, loudly: nothing is skipped."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from newsdesk.models import Feed
from tests.factories import SourceFactory
from tests.newsdesk.servers import Reply

ROOT = Path(__file__).resolve().parents[2]
FIRST = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
WORDS = (
    "The harbour authority said on Tuesday that the new ferry terminal would open in spring after "
    "two years of building work, with room for four ships at once and a covered walkway to the "
    "station. Local traders welcomed the news, though some worried about parking near the quay."
)


def on_rq() -> bool:
    return "django_tasks_rq" in settings.TASKS["default"]["BACKEND"]


def feed_xml(origin: str, count: int, *, hours: int = 1) -> bytes:
    """An RSS 2.0 feed of `count` items, `hours` apart, linking to pages on `origin`."""
    items = "".join(
        f"<item><title>Ferry terminal story {i}</title><link>{origin}/story-{i}</link>"
        f"<guid>{origin}/story-{i}</guid>"
        f"<pubDate>{format_datetime(FIRST + timedelta(hours=hours * i))}</pubDate>"
        f"<description>Story {i}: {WORDS}</description></item>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour News</title>'
        f"<link>{origin}/</link><description>News</description>{items}</channel></rss>"
    ).encode()


def page_html(i: int) -> bytes:
    return (
        f"<html><head><title>Ferry terminal story {i}</title></head><body><article>"
        f"<h1>Ferry terminal story {i}</h1><p>{WORDS}</p><p>Story {i}. {WORDS}</p></article></body></html>"
    ).encode()


def outlet_routes(origin_holder: dict, count: int) -> dict:
    """The feed at /feed.xml and its pages; origin_holder["origin"] is filled once the server runs."""
    routes = {
        "/feed.xml": lambda request: Reply(
            body=feed_xml(origin_holder["origin"], count), content_type="application/rss+xml; charset=utf-8"
        )
    }
    for i in range(count):
        routes[f"/story-{i}"] = Reply(body=page_html(i), content_type="text/html; charset=utf-8")
    return routes


def make_feed(server, **fields) -> Feed:
    outlet = SourceFactory()
    return Feed.objects.create(outlet=outlet, url=server.url("/feed.xml"), **fields)


def run_worker() -> None:
    """The configured backend's worker, until nothing is due in the queue."""
    if on_rq():
        _run_rq_worker()
    else:
        call_command(
            "db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0
        )


def worker_env() -> dict[str, str]:
    """The environment of a worker in a process of its own: this test run's database and backend,
    fetching from the local outlet."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        raise AssertionError(
            "A worker in a process of its own needs a database it can open: run these tests on "
            f"PostgreSQL (DATABASE_URL), not {connection.vendor} (make test-tasks-rq does)."
        )
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "NEWSAPP_FETCH_ALLOW_PRIVATE": "true",
        "NEWSAPP_FETCH_HOST_INTERVAL": "0",
    }
    if on_rq():
        env |= {
            "NEWSAPP_TASKS_BACKEND": "rq",
            "NEWSAPP_TASKS_REDIS_URL": settings.RQ_QUEUES["default"]["URL"],
        }
    return env


def _run_rq_worker() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "rqworker", "--burst", "--with-scheduler", "default"],
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"rqworker failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, f"a job failed:\n{done.stdout}\n{done.stderr}"


@dataclass
class Worker:
    """A worker running in a session of its own, with the processes it forks: an RQ worker's work
    horse for each job (in a process group of its own: killing the worker's group leaves the horse
    running, and finishing the job) and, on the worker holding the scheduler's lock, the scheduler."""

    name: str
    process: subprocess.Popen
    log: Path
    stopped_in: float | None = None  # seconds it took to exit once asked to stop (SIGTERM)

    def ready(self) -> bool:
        """Whether it has started working (its log says so)."""
        return ("*** Listening on" if on_rq() else "Starting worker") in self.output()

    def kill(self) -> None:
        """SIGKILL to every process of the worker's session at once: a machine lost."""
        for pid in self.session():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        for _ in range(50):
            if not self.session():
                return
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} left processes running: {self.session()}")

    def session(self) -> list[int]:
        """The live processes of the worker's session (a zombie, dead and waiting to be reaped, is not)."""
        pids = []
        for entry in os.listdir("/proc"):
            with suppress(OSError, ValueError):
                state = (Path("/proc") / entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if os.getsid(int(entry)) == self.process.pid and state not in "ZX":
                    pids.append(int(entry))
        return pids

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def workers(count: int, **env: str) -> Iterator[list[Worker]]:
    """`count` long-running workers of the configured backend on this test run's database and queue
    (`rqworker --with-scheduler`, or `db_worker`), with `env` added to worker_env(). When the block
    ends each is stopped by SIGTERM (it finishes the task at hand; an RQ worker gives its scheduler's
    lock back), SIGKILL after 30 s. Names are unique per run: RQ refuses two live workers of one name."""
    started, logs = [], tempfile.TemporaryDirectory(prefix="newsdesk-workers-")
    run = uuid.uuid4().hex[:8]
    try:
        for n in range(count):
            name = f"w{n}-{run}"
            if on_rq():
                command = ["rqworker", "--with-scheduler", "--name", name, "default"]
            else:
                command = ["db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"]
                command += ["--worker-id", name]
            log = Path(logs.name) / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "manage.py", *command],
                    cwd=ROOT,
                    env=worker_env() | {"PYTHONUNBUFFERED": "1"} | env,  # a failing test shows whole logs
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(Worker(name, process, log))
        yield started
    finally:
        for worker in started:
            if worker.process.poll() is None:
                os.killpg(worker.process.pid, signal.SIGTERM)
                worker.stopped_in = time.monotonic()
        deadline = time.monotonic() + 30
        for worker in started:
            with suppress(subprocess.TimeoutExpired):
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            if worker.stopped_in is not None:
                worker.stopped_in = time.monotonic() - worker.stopped_in
            if worker.session():  # stuck, or a horse left behind
                worker.kill()
        logs.cleanup()


def worker_tasks(names) -> dict[str, tuple[str, dict, str]]:
    """What each of the named workers is running: name -> (task path, keyword arguments, result id)."""
    running = {}
    if on_rq():
        import django_rq
        from rq import Worker as RQWorker
        from rq.job import Job

        connection = django_rq.get_queue("default").connection
        for name in names:
            worker = RQWorker.find_by_key(f"rq:worker:{name}", connection=connection)
            job_id = worker.get_current_job_id() if worker else None
            job = Job.fetch(job_id, connection=connection) if job_id else None
            if job is not None:
                running[name] = (job.func_name, job.kwargs, job.id)
        return running
    from django_tasks_db.models import DBTaskResult

    for row in DBTaskResult.objects.filter(status="RUNNING"):
        if row.worker_ids and row.worker_ids[-1] in names:
            running[row.worker_ids[-1]] = (row.task_path, row.args_kwargs["kwargs"], str(row.id))
    return running


def scheduler_group() -> int | None:
    """The process group of the RQ worker whose scheduler runs (holds the queue's scheduler lock), or
    None (none runs, the database backend). Killing it would hold up every run_after for a minute."""
    if not on_rq():
        return None
    import django_rq
    from rq.exceptions import SchedulerNotFound
    from rq.scheduler import RQScheduler

    connection = django_rq.get_queue("default").connection
    name = connection.get(RQScheduler.get_locking_key("default"))
    try:
        scheduler = RQScheduler.fetch(name.decode(), connection) if name else None
        return os.getpgid(scheduler.pid) if scheduler and scheduler.pid else None
    except (SchedulerNotFound, ProcessLookupError):
        return None


def running_results() -> set[str]:
    """The ids of the tasks the backend holds as running (RQ's started registry; RUNNING rows)."""
    if on_rq():
        import django_rq
        from rq.registry import StartedJobRegistry

        return set(StartedJobRegistry(queue=django_rq.get_queue("default")).get_job_ids())
    from django_tasks_db.models import DBTaskResult

    return {str(pk) for pk in DBTaskResult.objects.filter(status="RUNNING").values_list("id", flat=True)}


def queued_runs(task) -> list[tuple[dict, datetime | None]]:
    """(keyword arguments, run_after) of each call of `task` waiting in the queue."""
    if on_rq():
        import django_rq
        from rq.job import Job
        from rq.registry import ScheduledJobRegistry

        queue = django_rq.get_queue(task.queue_name)
        scheduled = ScheduledJobRegistry(queue=queue)
        runs = []
        for job in Job.fetch_many(queue.get_job_ids() + scheduled.get_job_ids(), connection=queue.connection):
            if job is not None and job.func_name == task.module_path:
                at = scheduled.get_scheduled_time(job) if job.id in scheduled else None
                runs.append((job.kwargs, at))
        return runs
    from django_tasks_db.models import DBTaskResult, get_date_max

    rows = DBTaskResult.objects.filter(task_path=task.module_path, status="READY").order_by("enqueued_at")
    # django-tasks-db stores "no run_after" as its largest date.
    return [
        (row.args_kwargs["kwargs"], None if row.run_after == get_date_max() else row.run_after)
        for row in rows
    ]


def empty_queue() -> None:
    """RQ's queue and scheduled jobs are in Redis, outside the test database: emptied around each test."""
    if on_rq():
        import django_rq
        from rq.registry import ScheduledJobRegistry

        queue = django_rq.get_queue("default")
        queue.connection.ping()  # no Redis: the test fails here, loudly
        queue.empty()
        scheduled = ScheduledJobRegistry(queue=queue)
        for job_id in scheduled.get_job_ids():
            scheduled.remove(job_id, delete_job=True)
