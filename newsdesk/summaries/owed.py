"""Which candidates owe a summary, and the one worker that makes it, whatever the number of workers.

A fetch that adds pieces to a candidate marks it as owing a summary from a given time on
(Candidate.summary_due_at) and queues the summary task for then (newsdesk.tasks.summaries_queue).
Whoever makes it takes the candidate's summary lease first (summary_leased_until, taken in one
UPDATE: of two workers given the same candidate at the same moment, one makes the summary and the
other leaves it, so no summary is made twice at once), then clears the mark unless more pieces came
meanwhile (the mark was set again: another summary is owed). A summary lost with its worker (killed,
the queue emptied) leaves the mark; once the lease has run out, the sweeper queues it again (owed()).
Both live in the database, so they hold across processes and machines, on either task backend."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from newsdesk.models import Candidate, Summary

from . import summarise

# The same setting as a feed's lease: it outlasts a language model's answer (settings check it).
LEASE = timedelta(seconds=settings.NEWSAPP_TASKS_LEASE)


class Leased(Exception):
    """Another worker is making this candidate's summary."""


def owe(candidate_ids, *, at: datetime) -> None:
    """Mark the open candidates as owing a summary from `at` on (a new time each call, so a summary
    being made meanwhile sees that more pieces came)."""
    Candidate.objects.filter(pk__in=candidate_ids, status=Candidate.Status.OPEN).update(summary_due_at=at)


def owed(now: datetime) -> list[int]:
    """The open candidates owing a summary since `now` or before that no worker is making."""
    rows = Candidate.objects.filter(_free(now), status=Candidate.Status.OPEN, summary_due_at__lte=now)
    return list(rows.order_by("summary_due_at").values_list("pk", flat=True))


def make(candidate_id: int) -> Summary | None:
    """The candidate's summary (newsdesk.summaries.summarise: a new one, or the newest if still
    current), made under its lease; None when it is no open candidate with pieces (then it owes none).
    Raises Leased when another worker holds the lease: the mark stays, so the summary is still made."""
    now = timezone.now()
    until = now + LEASE
    if not Candidate.objects.filter(_free(now), pk=candidate_id).update(summary_leased_until=until):
        if Candidate.objects.filter(pk=candidate_id).exists():
            raise Leased(f"candidate {candidate_id}'s summary is being made by another worker")
        return None
    mine = Candidate.objects.filter(pk=candidate_id, summary_leased_until=until)
    due = mine.values_list("summary_due_at", flat=True).first()
    try:
        candidate = Candidate.objects.filter(pk=candidate_id, status=Candidate.Status.OPEN).first()
        summary = summarise(candidate) if candidate and candidate.pieces.exists() else None
    except ValueError:  # pieces with no text nor headline: nothing to summarise, nothing owed
        summary = None
    except BaseException:
        mine.update(summary_leased_until=None)  # still owed: the next sweep queues it again
        raise
    # Owed no more, unless pieces came meanwhile and marked it again: then the lease alone goes.
    if not mine.filter(summary_due_at=due).update(summary_due_at=None, summary_leased_until=None):
        mine.update(summary_leased_until=None)
    return summary


def _free(now: datetime) -> Q:
    return Q(summary_leased_until__isnull=True) | Q(summary_leased_until__lte=now)
