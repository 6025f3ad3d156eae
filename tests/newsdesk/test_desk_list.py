"""The story desk's list draws each row's bias bar from the same rule as the desk page
(grouping.candidate_balance), in a fixed number of queries however many rows the page shows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Source
from newsdesk import grouping
from newsdesk.admin.common import balance_bar
from newsdesk.models import Candidate
from tests.newsdesk import desk_rows

pytestmark = pytest.mark.django_db
DESK = reverse("admin:newsdesk_candidate_changelist")
LEANS = [Source.Lean.LEFT, Source.Lean.CENTER, Source.Lean.RIGHT, Source.Lean.UNRATED]


def candidates(count: int, start: int = 0) -> list[Candidate]:
    made = []
    for n in range(start, start + count):
        cand = desk_rows.candidate(f"Event {n}")
        for k in range(1 + n % 3):
            source = desk_rows.outlet(f"o{n}-{k}.example", LEANS[(n + k) % 4])
            desk_rows.piece(cand, source, k, url=f"https://o{n}-{k}.example/{n}")
        made.append(cand)
    return made


def desk_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DESK).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_three_rows_or_thirty(editor_client):
    candidates(3)
    few = desk_queries(editor_client)
    candidates(27, start=3)
    assert desk_queries(editor_client) == few


def test_each_row_shows_the_bar_the_desk_page_computes(editor_client):
    cand, _ = desk_rows.newsroom()  # with a wire copy counted as its original
    others = candidates(5)
    page = editor_client.get(DESK).content.decode()
    for row in [cand, *others]:
        split = grouping.candidate_balance(row)
        assert grouping.candidate_balances([row]) == {row.pk: split}
        if split is not None:
            assert balance_bar(split) in page


def test_a_copy_whose_original_was_split_off_counts_for_itself_in_the_list_too():
    cand, pieces = desk_rows.newsroom()
    grouping.pieces_split(pieces=[pieces["left"]])
    assert grouping.candidate_balances([cand])[cand.pk] == grouping.candidate_balance(cand)
