"""The summary a draft story gets is drawn from the pieces it cites: a summary made before pieces were
split off the candidate is not used (its sentences from those pieces would cite no source of the
story); a current one is made instead."""

import pytest

from newsdesk import desk, grouping
from newsdesk.models import Summary
from tests.newsdesk import desk_rows

pytestmark = pytest.mark.django_db


def test_a_summary_drawing_on_a_piece_split_off_since_is_not_the_story_s(editor):
    cand, pieces = desk_rows.newsroom()
    stale = desk_rows.summary(cand, text="Dockers went back to work.\n\nThe centre's own scoop.")
    grouping.pieces_split(pieces=[pieces["center"]])

    article = desk.draft_story(candidate=cand, user=editor)

    assert article.summary != stale.text
    used = Summary.objects.filter(candidate=cand).exclude(pk=stale.pk).get()
    assert article.summary == used.text.strip()
    cited = set(article.article_sources.values_list("url", flat=True))
    drawn = {piece.url for piece in used.pieces.all()}
    assert drawn and drawn <= cited
    assert pieces["center"].url not in cited
    for line in used.provenance:
        assert {piece.url for piece in used.pieces.filter(pk__in=line["pieces"])} <= cited


def test_a_current_summary_is_the_story_s_as_it_is(editor):
    cand, _ = desk_rows.newsroom()
    current = desk_rows.summary(cand)
    article = desk.draft_story(candidate=cand, user=editor)
    assert article.summary == current.text
    assert Summary.objects.filter(candidate=cand).count() == 1
