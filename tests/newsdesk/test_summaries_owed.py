"""A candidate's summary with several workers (newsdesk.summaries.owed): made by the one worker holding
its summary lease, owed until made, and queued again by the sweeper when its task was lost. The
workers themselves, one killed, are in test_distributed_workers.py; the settings' bounds are here."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsdesk import tasks
from newsdesk.models import Candidate, Piece, Summary
from newsdesk.queued import waiting_calls
from newsdesk.summaries import owed
from tests.factories import SourceFactory
from tests.newsdesk.tasks_helpers import empty_queue, on_rq
from tests.newsdesk.test_tasks_settings import run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queue():
    empty_queue()
    yield
    empty_queue()


def candidate_with_pieces(count: int = 2) -> Candidate:
    now = timezone.now()
    candidate = Candidate.objects.create(
        title="Ferry terminal opens", first_published_at=now, last_published_at=now
    )
    outlet = SourceFactory()
    for n in range(count):
        add_piece(candidate, outlet, n)
    return candidate


def add_piece(candidate: Candidate, outlet, n: int) -> Piece:
    text = (
        f"The harbour authority opened the new ferry terminal on Tuesday, report {n}. It has berths for "
        "four ships and a covered walkway to the station, and traders welcomed it."
    )
    return Piece.objects.create(
        outlet=outlet, url=f"https://a.example/{candidate.pk}/{n}", title=f"Ferry terminal opens ({n})",
        published_at=timezone.now(), text=text, candidate=candidate,
    )  # fmt: skip


def test_a_summary_being_made_elsewhere_is_left_to_that_worker_and_still_owed():
    candidate = candidate_with_pieces()
    tasks.summaries_queue({candidate.pk})
    candidate.refresh_from_db()
    assert candidate.summary_due_at > timezone.now()  # owed from when its task runs
    Candidate.objects.filter(pk=candidate.pk).update(
        summary_leased_until=timezone.now() + timedelta(minutes=5)
    )

    done = tasks.summarise_task.call(candidate_id=candidate.pk)

    assert done["done"] == "nothing: another worker is summarising it"
    assert not Summary.objects.exists()
    candidate.refresh_from_db()
    assert candidate.summary_due_at is not None  # still owed


def test_the_sweeper_queues_an_owed_summary_whose_task_was_lost_once_its_lease_ran_out():
    candidate = candidate_with_pieces()
    # A worker took the lease and died: no task left, the summary owed since a minute.
    Candidate.objects.filter(pk=candidate.pk).update(
        summary_due_at=timezone.now() - timedelta(minutes=1),
        summary_leased_until=timezone.now() + timedelta(minutes=5),
    )
    DBTaskResult.objects.all().delete()
    assert "summaries" not in tasks.poll_feeds.call()  # the lease holds: left to its worker

    Candidate.objects.filter(pk=candidate.pk).update(
        summary_leased_until=timezone.now() - timedelta(seconds=1)
    )
    assert tasks.poll_feeds.call()["summaries"] == [candidate.pk]
    assert waiting_calls(tasks.summarise_task) == [{"candidate_id": candidate.pk}]
    assert "summaries" not in tasks.poll_feeds.call()  # queued once, not at every sweep

    result = tasks.summarise_task.call(candidate_id=candidate.pk)
    assert result["summary"] == Summary.objects.get(candidate=candidate).pk
    candidate.refresh_from_db()
    assert candidate.summary_due_at is None and candidate.summary_leased_until is None


def test_pieces_joining_while_a_summary_is_made_leave_another_owed(monkeypatch):
    candidate = candidate_with_pieces()
    owed.owe([candidate.pk], at=timezone.now())
    real = owed.summarise

    def with_a_piece_joining(of):
        summary = real(of)  # made from two pieces; meanwhile a feed adds a third and marks it again
        add_piece(candidate, SourceFactory(), 9)
        owed.owe([candidate.pk], at=timezone.now())
        return summary

    monkeypatch.setattr(owed, "summarise", with_a_piece_joining)
    owed.make(candidate.pk)
    candidate.refresh_from_db()
    assert candidate.summary_due_at is not None and candidate.summary_leased_until is None
    monkeypatch.undo()

    owed.make(candidate.pk)  # the next one draws on the third piece, and nothing is owed after it
    candidate.refresh_from_db()
    assert candidate.summary_due_at is None
    assert candidate.pieces.count() == 3 and Summary.objects.filter(candidate=candidate).count() == 2


def test_a_failing_summary_gives_its_lease_back_and_stays_owed(monkeypatch):
    candidate = candidate_with_pieces()
    owed.owe([candidate.pk], at=timezone.now())

    def broken(of):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(owed, "summarise", broken)
    with pytest.raises(RuntimeError):
        owed.make(candidate.pk)
    candidate.refresh_from_db()
    assert candidate.summary_leased_until is None and candidate.summary_due_at is not None
    assert owed.owed(timezone.now()) == [candidate.pk]


def test_a_candidate_no_longer_open_owes_nothing():
    candidate = candidate_with_pieces()
    owed.owe([candidate.pk], at=timezone.now())
    Candidate.objects.filter(pk=candidate.pk).update(status=Candidate.Status.DISMISSED)
    assert owed.owed(timezone.now()) == []
    assert tasks.summarise_task.call(candidate_id=candidate.pk)["done"].startswith("nothing: not an open")
    candidate.refresh_from_db()
    assert candidate.summary_due_at is None and candidate.summary_leased_until is None
    owed.owe([candidate.pk], at=timezone.now())  # marks open candidates only
    candidate.refresh_from_db()
    assert candidate.summary_due_at is None


def test_a_lease_shorter_than_a_workers_longest_step_is_refused_at_start(tmp_path):
    result = run(tmp_path, "-c", "import django; django.setup()", NEWSAPP_TASKS_LEASE="100")
    assert result.returncode != 0
    assert "NEWSAPP_TASKS_LEASE (100 s) must be longer than a worker's longest step (300 s" in result.stderr
    fine = {"NEWSAPP_TASKS_LEASE": "10", "NEWSAPP_FETCH_TIMEOUT": "3", "NEWSAPP_FETCH_HOST_WAIT": "1"}
    assert run(tmp_path, "-c", "import django; django.setup()", **fine).returncode == 0


@pytest.mark.tasks_backend
def test_the_rq_worker_runs_its_maintenance_every_setting_seconds_even_when_idle(settings):
    if not on_rq():
        pytest.skip("RQ's worker: make test-tasks-rq (NEWSAPP_TASKS_BACKEND=rq) runs this")
    from django_rq.workers import get_worker

    from newsdesk.rq_worker import Worker

    settings.NEWSAPP_TASKS_RQ_MAINTENANCE = 7
    worker = get_worker("default")  # what `manage.py rqworker` and `rqworker-pool` make
    assert type(worker) is Worker and worker.maintenance_interval == 7
    assert worker.dequeue_timeout == 7  # idle, it wakes up for its maintenance
