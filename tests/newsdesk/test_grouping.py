"""Grouping pieces into story candidates: judged on the labelled corpus (B-cubed), bounded in its
queries whatever the store's size, and the editors' merge and split, and the balance."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.bias import BiasSplit
from articles.models import Source
from newsdesk import grouping
from newsdesk.grouping import (
    candidate_balance,
    candidate_refresh,
    candidates_merge,
    group_piece,
    pieces_split,
)
from newsdesk.models import Candidate, CandidateTerm, Piece, Term
from tests.factories import ArticleFactory, SourceFactory
from tests.newsdesk import corpus

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

STORM = (
    "Storm Ilse floods Port Calder as sea wall breaks",
    "Storm Ilse broke through the sea wall at Saltmarsh Quay near Port Calder on Tuesday, flooding 120 "
    "homes. Gusts reached 137 km/h and EastLink Power said 38,000 homes lost power.",
)
STORM_AGAIN = (
    "Port Calder counts flooded homes after Storm Ilse breach",
    "In Port Calder the clean-up began after Storm Ilse: 140 homes near Saltmarsh Quay were flooded when "
    "the sea wall gave way, and EastLink Power restored most of the 38,000 homes cut off.",
)
BUDGET = (
    "Finance minister Voss cuts deficit to 2.8 percent in budget",
    "Clara Voss presented a budget that lifts the income tax threshold to 14,500, adds 3.1 billion for "
    "childcare and puts an 8 percent levy on holiday lets, cutting the deficit to 2.8 percent.",
)


def outlet(lean=Source.Lean.CENTER):
    return SourceFactory(bias=lean)


def piece(words, *, at=T0, source=None, copy_of=None):
    title, text = words
    return Piece.objects.create(
        outlet=source or outlet(),
        url=f"https://example.org/{Piece.objects.count()}-{at:%Y%m%d%H%M}",
        title=title,
        text=text,
        published_at=at,
        copy_of=copy_of,
    )


def grouped(words, **kwargs):
    made = piece(words, **kwargs)
    group_piece(made)
    made.refresh_from_db()
    return made


def test_the_corpus_is_grouped_with_b_cubed_f1_of_at_least_085(capsys):
    sources = {
        row["domain"]: Source.objects.create(
            name=row["name"], slug=row["domain"].split(".")[0], domain=row["domain"],
            homepage=f"https://{row['domain']}/", bias=row["bias"],
        )
        for row in corpus.outlets()
    }  # fmt: skip
    rows = corpus.pieces()
    for row in rows:
        group_piece(
            Piece.objects.create(
                outlet=sources[row["outlet"]], url=row["url"], title=row["title"], author=row["author"],
                text=row["text"], published_at=row["published_at"], extraction=Piece.Extraction.PAGE,
            )
        )  # fmt: skip
    found = dict(Piece.objects.values_list("url", "candidate"))
    labels = {row["url"]: row["event"] for row in rows}
    scores = corpus.bcubed(found, labels)
    mixed = defaultdict(Counter)
    for url, candidate in found.items():
        mixed[candidate][labels[url]] += 1
    with capsys.disabled():
        print(
            f"\ngrouping corpus: {len(rows)} pieces, {len({r['outlet'] for r in rows})} outlets, "
            f"{len(set(labels.values()))} events -> {len(mixed)} candidates; B-cubed precision "
            f"{scores.precision:.3f}, recall {scores.recall:.3f}, F1 {scores.f1:.3f}"
        )
        for events in mixed.values():
            if len(events) > 1:
                print("  mixed:", dict(events))
    assert scores.f1 >= 0.85


def test_the_corpus_files_are_well_formed():
    rows = corpus.pieces()
    assert len({row["url"] for row in rows}) == len(rows)
    by_event = defaultdict(list)
    for row in rows:
        by_event[row["event"]].append(row)
    for event, members in by_event.items():
        assert len({row["outlet"] for row in members}) >= 6, event
        assert max(r["published_at"] for r in members) - min(r["published_at"] for r in members) <= timedelta(
            hours=48
        ), event


def test_pieces_about_one_event_share_a_candidate_and_another_event_gets_its_own():
    first = grouped(STORM)
    second = grouped(STORM_AGAIN, at=T0 + timedelta(hours=20))
    other = grouped(BUDGET, at=T0 + timedelta(hours=21))
    assert second.candidate == first.candidate
    assert other.candidate != first.candidate
    candidate = first.candidate
    candidate.refresh_from_db()
    assert candidate.outlets_count == 2
    assert (candidate.first_published_at, candidate.last_published_at) == (T0, T0 + timedelta(hours=20))
    assert candidate.title in {STORM[0], STORM_AGAIN[0]}
    assert set(candidate.terms.values_list("text", flat=True)) >= {"ilse", "calder"}
    assert Term.objects.get(text=grouping.ALL_PIECES).pieces == 3
    assert Term.objects.get(text="ilse").pieces == 2


def test_the_same_words_outside_the_window_start_a_new_candidate():
    first = grouped(STORM)
    later = grouped(STORM_AGAIN, at=T0 + grouping.WINDOW + timedelta(hours=1))
    earlier = grouped(STORM_AGAIN, at=T0 - grouping.WINDOW - timedelta(hours=1))
    assert len({first.candidate_id, later.candidate_id, earlier.candidate_id}) == 3


def test_a_copy_joins_its_originals_candidate_whatever_its_words():
    original = grouped(STORM)
    copy = grouped(BUDGET, copy_of=original, at=T0 + timedelta(hours=1))
    assert copy.candidate == original.candidate


def test_a_grouped_piece_stays_where_it_is():
    first = grouped(STORM)
    assert group_piece(first) == first.candidate
    assert Term.objects.get(text="ilse").pieces == 1


def fill(count, *, start, terms):
    """A store of `count` candidates around a probe due at `start`: each with a piece, indexed under
    the probe's own `terms` but older than the window; and more active ones than the shortlist holds,
    indexed lightly under the same terms but about something else."""
    source = outlet()
    old = start - grouping.WINDOW - timedelta(days=1)
    recent = start - timedelta(hours=1)
    made = Candidate.objects.bulk_create(
        [
            *(Candidate(title="Old", first_published_at=old, last_published_at=old) for _ in range(count)),
            *(
                Candidate(
                    title="Active", first_published_at=recent, last_published_at=recent, centroid={"x": 1}
                )
                for _ in range(grouping.SHORTLIST + 5)
            ),
        ]
    )
    Piece.objects.bulk_create(
        Piece(
            outlet=source,
            url=f"https://filler.example/{c.pk}",
            title=c.title,
            published_at=c.last_published_at,
            candidate=c,
        )
        for c in made
    )
    CandidateTerm.objects.bulk_create(
        CandidateTerm(
            candidate=c,
            text=text,
            weight=0.3 if c.title == "Old" else 0.01,
            last_published_at=c.last_published_at,
        )
        for c in made
        for text in terms
    )
    Term.objects.update_or_create(text=grouping.ALL_PIECES, defaults={"pieces": Piece.objects.count()})


def probe_cost(count, *, start):
    """Queries and comparisons for one piece joining the candidate of its event, `count` stored
    candidates around it."""
    fill(count, start=start, terms=["ilse", "calder", "saltmarsh", "eastlink"])
    first = grouped(STORM, at=start - timedelta(hours=2))
    probe = piece(STORM_AGAIN, at=start)
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(grouping, "_cosine", wraps=grouping._cosine) as compared,
    ):
        candidate = group_piece(probe)
    assert candidate == first.candidate
    return len(queries), compared.call_count


def test_the_cost_of_one_piece_does_not_grow_with_the_store(django_assert_max_num_queries):
    small = probe_cost(100, start=T0)
    large = probe_cost(2_000, start=T0 + timedelta(days=30))
    assert Piece.objects.count() > 2_100
    assert small == large
    queries, comparisons = large
    # The shortlist, the lone pieces of the grown candidate's own shortlist, then two headlines
    # against the centroid.
    assert comparisons <= 2 * grouping.SHORTLIST + 2
    another = piece(STORM_AGAIN, at=T0 + timedelta(days=30, minutes=5))
    with django_assert_max_num_queries(queries):
        group_piece(another)


def test_merge_moves_the_pieces_and_refreshes_the_target():
    left, right = outlet(Source.Lean.LEFT), outlet(Source.Lean.RIGHT)
    a = grouped(STORM, source=left)
    b = grouped(BUDGET, source=right, at=T0 + timedelta(days=1))
    story = ArticleFactory()
    Candidate.objects.filter(pk=b.candidate_id).update(story=story, status=Candidate.Status.DRAFTED)
    target = candidates_merge(target=a.candidate, other=Candidate.objects.get(pk=b.candidate_id))
    target.refresh_from_db()
    assert set(target.pieces.all()) == {a, b}
    assert not Candidate.objects.filter(pk=b.candidate_id).exists()
    assert (target.outlets_count, target.story, target.status) == (2, story, Candidate.Status.DRAFTED)
    assert target.last_published_at == T0 + timedelta(days=1)
    assert {"ilse", "voss"} <= set(target.centroid)
    assert CandidateTerm.objects.filter(candidate=target, text="voss").exists()


def test_merge_refuses_itself_and_two_different_stories():
    a, b = grouped(STORM).candidate, grouped(BUDGET).candidate
    with pytest.raises(ValidationError):
        candidates_merge(target=a, other=a)
    Candidate.objects.filter(pk=a.pk).update(story=ArticleFactory())
    Candidate.objects.filter(pk=b.pk).update(story=ArticleFactory())
    a.refresh_from_db()
    b.refresh_from_db()
    with pytest.raises(ValidationError):
        candidates_merge(target=a, other=b)
    assert Candidate.objects.filter(pk=b.pk).exists()


def test_split_takes_pieces_out_into_a_new_candidate():
    a = grouped(STORM)
    b = grouped(STORM_AGAIN, at=T0 + timedelta(hours=2))
    c = grouped(STORM_AGAIN, at=T0 + timedelta(hours=3))
    source = a.candidate
    new = pieces_split(pieces=[b, c])
    source.refresh_from_db()
    assert set(new.pieces.all()) == {b, c}
    assert set(source.pieces.all()) == {a}
    assert (source.outlets_count, new.outlets_count) == (1, 2)
    assert source.last_published_at == T0
    assert (new.first_published_at, new.status) == (T0 + timedelta(hours=2), Candidate.Status.OPEN)


@pytest.mark.parametrize("case", ["empty", "every piece", "two candidates"])
def test_split_refuses_what_would_not_make_sense(case):
    a = grouped(STORM)
    b = grouped(STORM_AGAIN, at=T0 + timedelta(hours=1))
    other = grouped(BUDGET)
    chosen = {"empty": [], "every piece": [a, b], "two candidates": [a, other]}[case]
    with pytest.raises(ValidationError):
        pieces_split(pieces=chosen)
    assert Candidate.objects.count() == 2


def test_balance_counts_each_outlet_once_and_a_copy_as_its_original():
    left, center, right = outlet(Source.Lean.LEFT), outlet(Source.Lean.CENTER), outlet(Source.Lean.RIGHT)
    original = grouped(STORM, source=left)
    grouped(STORM_AGAIN, source=left, at=T0 + timedelta(hours=1))
    grouped(STORM_AGAIN, source=center, at=T0 + timedelta(hours=2))
    # The right-leaning outlet only ran the left one's text: one voice, the left one.
    grouped(STORM, source=right, copy_of=original, at=T0 + timedelta(hours=3))
    candidate = Candidate.objects.get(pk=original.candidate_id)
    assert candidate.pieces.count() == 4
    assert candidate.outlets_count == 2
    assert candidate_balance(candidate) == BiasSplit(50, 50, 0, 0)


def test_a_copy_whose_original_was_split_off_speaks_for_its_own_outlet_as_in_a_drafted_story():
    left, right = outlet(Source.Lean.LEFT), outlet(Source.Lean.RIGHT)
    original = grouped(STORM, source=left)
    copy = grouped(STORM, source=right, copy_of=original, at=T0 + timedelta(hours=1))
    assert candidate_balance(copy.candidate) == BiasSplit(100, 0, 0, 0)
    pieces_split(pieces=[original])
    copy.refresh_from_db()
    # articles.bias.voices counts it too: the desk marks a copy wire_copy only beside its original.
    assert candidate_balance(copy.candidate) == BiasSplit(0, 0, 100, 0)


def test_balance_of_unrated_outlets_is_none():
    made = grouped(STORM, source=outlet(Source.Lean.UNRATED))
    assert candidate_balance(made.candidate) is None


def test_refresh_after_a_copy_is_marked_recounts_outlets_and_keeps_an_original_headline():
    original = grouped(STORM, source=outlet())
    copy = grouped(STORM_AGAIN, source=outlet(), at=T0 + timedelta(hours=1))
    candidate = Candidate.objects.get(pk=original.candidate_id)
    assert candidate.outlets_count == 2
    Piece.objects.filter(pk=copy.pk).update(copy_of=original)
    candidate_refresh(candidate)
    candidate.refresh_from_db()
    assert candidate.outlets_count == 1
    assert candidate.title == STORM[0]


def test_a_piece_without_words_starts_its_own_candidate():
    grouped(STORM)
    empty = grouped(("", ""), at=T0 + timedelta(minutes=1))
    assert empty.candidate.pieces.count() == 1
    assert empty.candidate.outlets_count == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_grouping_one_events_first_pieces_at_once_make_one_candidate():
    # Each worker's transaction pauses after its lookup found nothing, as long as it can: without
    # a turn taken before the lookup (grouping._take_turn) both would start a candidate; with it the
    # second looks after the first committed. (Checked: with the turn and the count moved after the
    # lookup, two candidates are made.)
    import contextlib
    import threading

    from django.db import connections, transaction

    first, second = piece(STORM), piece(STORM_AGAIN)
    real_closest = grouping._closest
    both_inside = threading.Barrier(2, timeout=2)

    def slow_closest(*args, **kwargs):
        found = real_closest(*args, **kwargs)
        # Times out when the other worker is kept waiting for its turn.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_inside.wait()
        return found

    errors = []

    def work(made):
        try:
            with transaction.atomic():
                group_piece(made)
        except Exception as exc:  # reported below, with the thread's own failure
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(grouping, "_closest", slow_closest):
        threads = [threading.Thread(target=work, args=(made,)) for made in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
    assert not errors
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.candidate_id == second.candidate_id
    assert Candidate.objects.count() == 1
