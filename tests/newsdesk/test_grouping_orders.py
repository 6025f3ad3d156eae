"""The grouping does not depend on the order pieces arrive in: the labelled corpus read outlet by
outlet (the cold start of a deployment, as the demo reads its feeds) and shuffled scores as it
does in publishing order (tests/newsdesk/test_grouping.py): a piece left alone because it came
before the reports it matches is gathered into their candidate once it grows to reach it."""

from datetime import timedelta
from unittest import mock

import pytest

from newsdesk import grouping
from newsdesk.grouping import pieces_split
from newsdesk.models import Candidate
from tests.factories import ArticleFactory
from tests.newsdesk.grouping_corpus import group_corpus, outlet_order, shuffled_order
from tests.newsdesk.test_grouping import BUDGET, STORM, STORM_AGAIN, T0, grouped

pytestmark = pytest.mark.django_db

ORDERS = {
    "outlet by outlet, newest first": outlet_order,
    "shuffled (seed 1)": lambda: shuffled_order(1),
    "shuffled (seed 2)": lambda: shuffled_order(2),
    "shuffled (seed 3)": lambda: shuffled_order(3),
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_the_corpus_in_another_order_is_grouped_with_b_cubed_f1_of_at_least_085(order, capsys):
    result = group_corpus(ORDERS[order]())
    with capsys.disabled():
        print(f"\ngrouping corpus {result.line(order)}")
        for events in result.mixed:
            print("  mixed:", events)
    assert result.f1 >= 0.85


def test_a_piece_left_alone_is_gathered_once_its_events_candidate_grows_to_reach_it():
    first = grouped(STORM)
    # As if it had come before the reports it matches (here: a threshold no piece reaches).
    with mock.patch.object(grouping, "THRESHOLD", 1.01):
        alone = grouped(STORM_AGAIN, at=T0 + timedelta(hours=1))
    assert alone.candidate_id != first.candidate_id
    third = grouped(STORM_AGAIN, at=T0 + timedelta(hours=2))
    first.refresh_from_db()
    alone.refresh_from_db()
    assert first.candidate_id == alone.candidate_id == third.candidate_id
    candidate = Candidate.objects.get()
    assert candidate.outlets_count == 3
    assert (candidate.first_published_at, candidate.last_published_at) == (T0, T0 + timedelta(hours=2))
    assert {"ilse", "calder"} <= set(candidate.terms.values_list("text", flat=True))


@pytest.mark.parametrize("case", ["split off by an editor", "drafted", "another event"])
def test_a_lone_piece_is_left_where_an_editor_put_it_or_when_it_reports_something_else(case):
    if case == "split off by an editor":
        first = grouped(STORM)
        lone = grouped(STORM_AGAIN, at=T0 + timedelta(hours=1))
        pieces_split(pieces=[lone])
    else:
        with mock.patch.object(grouping, "THRESHOLD", 1.01):
            lone = grouped(BUDGET if case == "another event" else STORM)
            first = grouped(STORM_AGAIN, at=T0 + timedelta(hours=1))
        if case == "drafted":
            Candidate.objects.filter(pk=lone.candidate_id).update(
                story=ArticleFactory(), status=Candidate.Status.DRAFTED
            )
    grouped(STORM_AGAIN, at=T0 + timedelta(hours=2))
    lone.refresh_from_db()
    first.refresh_from_db()
    assert lone.candidate_id != first.candidate_id
    assert Candidate.objects.count() == 2
