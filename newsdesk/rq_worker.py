"""The RQ worker `manage.py rqworker` and `rqworker-pool` run (settings.RQ["WORKER_CLASS"],
NEWSAPP_TASKS_BACKEND=rq): RQ's own, with its maintenance every NEWSAPP_TASKS_RQ_MAINTENANCE seconds
(60) even while idle, instead of every ten minutes and only between jobs, that maintenance keeping the
feed sweeper queued, and a shutdown that does not wait a minute for its pubsub thread.

Why: with several workers started `--with-scheduler`, one runs the scheduler (it holds a lock in
Redis) and the others look for a dead one only at their maintenance. When the worker running it is
killed, tasks given a run_after (each feed's next fetch, the sweeper itself, the summaries) wait for
its lock to lapse (61 s, fixed by RQ) and then for another worker's maintenance: measured by hand,
399 s with an idle queue and RQ's wait for a job, 114 s with ours (65 s with a 10 s maintenance). The
same maintenance moves a killed worker's job, once its heartbeat lapses (90 s at most), from the
started registry to the failed one (its result then reads FAILED). The work itself waits for neither:
the feed's lease runs out and the sweeper queues it again."""

from django.conf import settings
from rq import Worker as RQWorker


class Worker(RQWorker):
    keeps_polling = False

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", settings.NEWSAPP_TASKS_RQ_MAINTENANCE)
        super().__init__(*args, **kwargs)

    def work(self, burst: bool = False, **kwargs) -> bool:
        # A --burst run empties the queue and ends (the tests' workers): it queues no sweeper of its own.
        self.keeps_polling = not burst
        return super().work(burst=burst, **kwargs)

    def run_maintenance_tasks(self):
        """RQ's maintenance, then the feed sweeper queued unless one is waiting (tasks.start_polling):
        a Redis restarted empty (the cluster's keeps nothing on disk) or a queue emptied by hand loses
        every task waiting in it, the sweeper among them, and the sweeper queues the rest again."""
        super().run_maintenance_tasks()
        if not self.keeps_polling:
            return
        from newsdesk.tasks import start_polling

        try:
            if start_polling():
                self.log.warning("Worker %s: no feed sweeper was waiting in the queue; queued one", self.name)
        except Exception:  # Redis out of reach: RQ's own loop waits for it; the next maintenance retries
            self.log.exception("Worker %s: could not check the feed sweeper", self.name)

    @property
    def dequeue_timeout(self) -> int:
        """How long an idle worker waits for a job before it looks up again, runs its maintenance
        when due among other things: RQ waits 405 s (worker_ttl - 15), which put off a dead
        scheduler's replacement by as much, whatever the maintenance interval."""
        return max(1, min(super().dequeue_timeout, self.maintenance_interval))

    def unsubscribe(self):
        """Stop listening for commands, at once. RQ sends UNSUBSCRIBE, whose answer wakes its pubsub
        thread, and then stops the thread; the thread, woken before it is told to stop, waits 60 s
        for another message, and redis-py's stop() (which now waits for the thread) with it: a worker
        asked to stop (SIGTERM, a deploy, the end of a --burst run) often took a minute to exit
        (rq#2201; by hand, 5 of 12 idle workers took 61 s). Told to stop first, the thread ends on
        that answer (0 of 12)."""
        if self.pubsub_thread:
            try:
                self.pubsub_thread.stop(timeout=0)
            except TypeError:  # an older redis-py: stop() takes no timeout and never waits
                self.pubsub_thread.stop()
        super().unsubscribe()
