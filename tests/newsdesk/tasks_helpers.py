"""What the tasks' tests share: a local outlet serving a feed and its article pages, and the worker of
whichever task backend the settings name, run for real until its queue is empty.

With the database backend the worker is django-tasks-db's `db_worker --batch`, in this process. With
RQ (NEWSAPP_TASKS_BACKEND=rq, `make test-tasks-rq`) it is `manage.py rqworker --burst --with-scheduler`
in a process of its own, on the test database (PostgreSQL: a second process cannot open the in-memory
SQLite of a test run), so those tests commit (django_db(transaction=True)). A Redis or a worker that
cannot start fails the test, loudly: nothing is skipped."""

import os
import subprocess
import sys
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
