"""What is waiting in the task queue: the calls of a task enqueued and not started yet.

The polling tasks ask before they enqueue, so a feed is queued once however many ways lead to it
(its own next run, the sweeper, a new feed's first fetch) and a second sweeper never starts. Each
backend keeps its queue its own way: the database backend in django-tasks-db's table, RQ in Redis
(its queue and, for calls given a run_after, its scheduled-job registry). Another backend cannot be
asked: None, and the tasks stay correct without it, since a feed's fetch does nothing when the feed
is not due or its lease is held (only a duplicate costs a look at the feed row).
"""

from django.tasks import TaskResultStatus


def waiting_calls(task) -> list[dict] | None:
    """The keyword arguments of each call of `task` waiting in its backend (READY, whatever its
    run_after), or None when the backend cannot tell. Calls are compared by keyword arguments:
    the newsdesk's tasks are always enqueued with keywords."""
    backend = task.get_backend()
    module = type(backend).__module__
    if module.startswith("django_tasks_db"):
        return _database_calls(task, backend)
    if module.startswith("django_tasks_rq"):
        return _rq_calls(task)
    return None


def _database_calls(task, backend) -> list[dict]:
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(
        backend_name=backend.alias,
        task_path=task.module_path,
        queue_name=task.queue_name,
        status=TaskResultStatus.READY,
    ).values_list("args_kwargs", flat=True)
    return [row.get("kwargs") or {} for row in rows]


def _rq_calls(task) -> list[dict]:
    import django_rq
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    queue = django_rq.get_queue(task.queue_name)
    ids = queue.get_job_ids() + ScheduledJobRegistry(queue=queue).get_job_ids()
    jobs = Job.fetch_many(ids, connection=queue.connection)
    return [job.kwargs for job in jobs if job is not None and job.func_name == task.module_path]
