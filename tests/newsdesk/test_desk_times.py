"""The times on the desk page are valid HTML: a summary's made-at time, saved by Django with
microseconds, is given to the second in its <time datetime> (HTML allows at most three digits of
a second's fraction; the browser suite's HTML checker found six)."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from newsdesk.models import Summary
from tests.newsdesk import desk_rows

pytestmark = pytest.mark.django_db

# HTML's global date and time string, as a <time datetime> in UTC: the fraction has 1 to 3 digits.
VALID = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)$")


def test_every_time_on_the_desk_page_is_a_valid_html_datetime(editor_client):
    cand, _ = desk_rows.newsroom()
    made = desk_rows.summary(cand)
    Summary.objects.filter(pk=made.pk).update(created_at=datetime(2026, 3, 4, 9, 30, 15, 717995, tzinfo=UTC))

    html = editor_client.get(reverse("admin:newsdesk_candidate_change", args=[cand.pk])).content.decode()
    stamps = re.findall(r'<time datetime="([^"]*)"', html)
    assert "2026-03-04T09:30:15+00:00" in stamps  # the summary's, to the second
    assert len(stamps) >= 3 and all(VALID.match(stamp) for stamp in stamps), stamps
