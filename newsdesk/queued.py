"""What is waiting in the task queue: the calls of a task enqueued and not started yet.

The polling tasks ask before they enqueue, so a feed is queued once however many ways lead to it
(its own next run, the sweeper, a new feed's first fetch) and a second sweeper never starts. Each
backend keeps its queue its own way: the database backend in django-tasks-db's table, RQ in Redis
(its queue and, for calls given a run_after, its scheduled-job registry). Another backend cannot be
asked: None, and the tasks stay correct without it, since a feed's fetch does nothing when the feed
is not due or its lease is held (only a duplicate costs a look at the feed row).
"""

from datetime import datetime

from django.db.models import Q
from django.tasks import TaskResultStatus


def waiting_calls(task, *, runs_by: datetime | None = None) -> list[dict] | None:
    """The keyword arguments of each call of `task` waiting in its backend (READY, whatever its
    run_after; with `runs_by`, only those that may run by then), or None when the backend cannot
    tell. Calls are compared by keyword arguments: the newsdesk's tasks are always enqueued with
    keywords."""
    backend = task.get_backend()
    module = type(backend).__module__
    if module.startswith("django_tasks_db"):
        return _database_calls(task, backend, runs_by)
    if module.startswith("django_tasks_rq"):
        return _rq_calls(task, runs_by)
    return None


def _database_calls(task, backend, runs_by: datetime | None) -> list[dict]:
    from django_tasks_db.models import DBTaskResult, get_date_max

    rows = DBTaskResult.objects.filter(
        backend_name=backend.alias,
        task_path=task.module_path,
        queue_name=task.queue_name,
        status=TaskResultStatus.READY,
    )
    if runs_by is not None:
        # A call without run_after is stored with the largest date: it runs as soon as a worker is free.
        rows = rows.filter(Q(run_after=get_date_max()) | Q(run_after__lte=runs_by))
    return [row.get("kwargs") or {} for row in rows.values_list("args_kwargs", flat=True)]


def _rq_calls(task, runs_by: datetime | None) -> list[dict]:
    import django_rq
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    queue = django_rq.get_queue(task.queue_name)
    scheduled = ScheduledJobRegistry(queue=queue)
    if runs_by is None:
        ids = queue.get_job_ids() + scheduled.get_job_ids()
    else:
        ids = queue.get_job_ids() + scheduled.get_jobs_to_schedule(int(runs_by.timestamp()))
    jobs = Job.fetch_many(ids, connection=queue.connection)
    return [job.kwargs for job in jobs if job is not None and job.func_name == task.module_path]
