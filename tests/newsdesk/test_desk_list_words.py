"""The story desk's list counts its rows as candidates: the model's plural ("story desk") names the
list, and Django's own count read "7 story desk"."""

import re

import pytest
from django.urls import reverse

from tests.newsdesk import desk_rows

pytestmark = pytest.mark.django_db


def count_line(html: str) -> str:
    paginator = re.search(r'<nav class="paginator"[^>]*>(.*?)</nav>', html, re.S)
    assert paginator, "no paginator"
    return " ".join(re.sub(r"<h2.*?</h2>", "", paginator[1], flags=re.S).split())


@pytest.mark.parametrize("count, words", [(1, "1 candidate"), (3, "3 candidates")])
def test_the_desk_counts_candidates(editor_client, count, words):
    for n in range(count):
        desk_rows.candidate(f"Harbour strike ends after {n + 2} weeks")
    html = editor_client.get(reverse("admin:newsdesk_candidate_changelist")).content.decode()
    assert count_line(html) == words
