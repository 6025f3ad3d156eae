"""An action on the newsdesk's lists with chosen rows that are no ids (a form posted by hand) is
refused with a message and does nothing: never a 500."""

import pytest
from django.urls import reverse

from newsdesk.models import Candidate
from tests.newsdesk import desk_rows

pytestmark = pytest.mark.django_db

LISTS = [
    ("newsdesk_candidate", "merge_selected"),
    ("newsdesk_candidate", "dismiss_selected"),
    ("newsdesk_piece", "split_selected"),
    ("newsdesk_feed", "fetch_now"),
]


@pytest.mark.parametrize(("model", "action"), LISTS)
@pytest.mark.parametrize("chosen", [["abc"], ["1", "x"], ["1.5"], ["-1"]])
def test_rows_that_are_no_ids_are_refused_with_a_message(editor_client, model, action, chosen):
    cand, _ = desk_rows.newsroom()
    url = reverse(f"admin:{model}_changelist")
    response = editor_client.post(url, {"action": action, "_selected_action": chosen, "index": "0"})
    assert response.status_code == 302
    shown = [str(m) for m in response.wsgi_request._messages]
    assert shown == ["Choose the rows in the list: nothing was done."]
    cand.refresh_from_db()
    assert cand.status == Candidate.Status.OPEN


def test_rows_given_by_id_still_work(editor_client):
    cand, _ = desk_rows.newsroom()
    url = reverse("admin:newsdesk_candidate_changelist")
    data = {"action": "dismiss_selected", "_selected_action": [str(cand.pk)], "index": "0"}
    assert editor_client.post(url, data).status_code == 302
    cand.refresh_from_db()
    assert cand.status == Candidate.Status.DISMISSED


def test_dismissing_candidates_dismissed_already_says_nothing_was_done(editor_client):
    cand, _ = desk_rows.newsroom()
    Candidate.objects.filter(pk=cand.pk).update(status=Candidate.Status.DISMISSED)
    url = reverse("admin:newsdesk_candidate_changelist") + "?status=dismissed"
    data = {"action": "dismiss_selected", "_selected_action": [str(cand.pk)], "index": "0"}
    response = editor_client.post(url, data)
    shown = [str(m) for m in response.wsgi_request._messages]
    assert shown == ["Nothing to dismiss: the chosen candidates are dismissed already."]
