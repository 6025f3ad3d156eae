"""summarise(candidate) without a language model: the extractive summary's choice of sentences,
its shape and provenance, and what is stored (tests/newsdesk/test_summaries_llm.py has the model)."""

import time
from datetime import timedelta

import pytest
from django.db import IntegrityError

from articles.models import Source
from newsdesk.models import Candidate, Piece, Summary
from newsdesk.summaries import extractive, summarise
from newsdesk.summaries.material import candidate_pieces
from newsdesk.summaries.sentences import sentences
from tests.newsdesk.summary_pieces import COPY_OUTLET, REPORTS, START, candidate_with_pieces, outlet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_model(settings):
    settings.NEWSAPP_LLM_BASE_URL = ""


def paragraphs(summary) -> list[str]:
    return summary.text.split("\n\n")


def test_extractive_summary_has_the_reference_shape():
    summary = summarise(candidate_with_pieces())
    assert summary.method == Summary.Method.EXTRACTIVE
    assert (summary.model, summary.prompt_version, summary.note) == ("", "", "")
    words = len(summary.text.split())
    assert 120 <= words <= 220
    lead, *body = paragraphs(summary)
    assert len(sentences(lead)) == 1 and 12 <= len(lead.split()) <= 50
    assert 2 <= len(body) <= 4
    assert all(paragraph.strip() == paragraph and paragraph for paragraph in body)


def test_sentences_come_from_several_outlets_with_their_pieces():
    candidate = candidate_with_pieces()
    summary = summarise(candidate)
    pieces = {p.pk: p for p in candidate.pieces.all()}
    chosen = [entry["sentence"] for entry in summary.provenance]
    # Every sentence is in the text, in order, and is found word for word in each piece it names.
    assert " ".join(chosen) == " ".join(paragraphs(summary)).replace("\\", "")
    for entry in summary.provenance:
        assert entry["pieces"], entry
        for pk in entry["pieces"]:
            assert entry["sentence"] in " ".join(pieces[pk].text.split())
    outlets = {pieces[entry["pieces"][0]].outlet.domain for entry in summary.provenance}
    assert len(outlets) >= 3
    assert len(chosen) == len(set(chosen))


def test_redundant_sentences_are_dropped():
    summary = summarise(candidate_with_pieces())
    # Three outlets open with the cracks found in the main span's hangers: one of them is kept.
    told = [e["sentence"] for e in summary.provenance if "main span" in e["sentence"]]
    assert len(told) == 1


def test_a_sentence_two_outlets_share_is_told_once_naming_both():
    candidate = candidate_with_pieces(domains={"harbour.example", "courier.example"}, copy=False)
    shared = "The bridge carries the city's main water pipe, which engineers said was not damaged."
    for piece in candidate.pieces.all():
        piece.text = piece.text.replace("\n\n", f" {shared}\n\n", 1)
        piece.save()
    made = extractive.draft(candidate_pieces(candidate))
    entries = [e for e in made.provenance if e["sentence"] == shared]
    assert entries == [{"sentence": shared, "pieces": sorted(p.pk for p in candidate.pieces.all())}]


def test_a_wire_copy_is_no_voice_of_its_own_but_is_named_with_its_original():
    candidate = candidate_with_pieces()
    copy = Piece.objects.get(outlet__domain=COPY_OUTLET)
    summary = summarise(candidate)
    from_ledger = [e for e in summary.provenance if copy.copy_of_id in e["pieces"]]
    assert from_ledger, "the right-leaning outlet's reporting is in the summary"
    assert all(copy.pk in e["pieces"] for e in from_ledger)
    assert not [e for e in summary.provenance if e["pieces"] == [copy.pk]]
    assert set(summary.pieces.all()) == set(candidate.pieces.all())


def test_an_outlet_with_one_usable_sentence_is_still_quoted():
    """One outlet with three pieces' worth of central sentences, another with one sentence off the
    main line: the second outlet is quoted all the same (and early: the second sentence chosen)."""
    candidate = candidate_with_pieces(copy=False)
    harbour = Source.objects.get(domain="harbour.example")
    candidate.pieces.filter(outlet__domain__in=["ledger.example", "courier.example"]).update(outlet=harbour)
    tribune = candidate.pieces.get(outlet__domain="tribune.example")
    tribune.text = "Schools on the eastern bank said some pupils had arrived more than an hour late."
    tribune.save()
    pieces = candidate_pieces(candidate)
    made = extractive.draft(pieces)
    assert [e["sentence"] for e in made.provenance if e["pieces"] == [tribune.pk]] == [tribune.text]
    found = extractive._sentences(pieces, {})
    extractive._weigh(found, pieces)
    lead, body = extractive._choose(found)
    assert (lead.piece.outlet_id, body[0].piece) == (harbour.pk, tribune)


def test_one_outlet_alone_still_gives_a_summary():
    candidate = candidate_with_pieces(domains={"harbour.example"}, copy=False)
    summary = summarise(candidate)
    piece = candidate.pieces.get()
    assert {pk for e in summary.provenance for pk in e["pieces"]} == {piece.pk}
    assert len(paragraphs(summary)) >= 2


def test_headlines_stand_in_when_no_piece_has_text():
    candidate = candidate_with_pieces(domains={"harbour.example", "ledger.example"}, copy=False)
    candidate.pieces.update(text="")
    summary = summarise(candidate)
    assert summary.text.startswith(REPORTS["harbour.example"][1]) or summary.text.startswith(
        REPORTS["ledger.example"][1]
    )


def test_a_candidate_without_pieces_is_refused_and_nothing_is_stored():
    candidate = Candidate.objects.create(title="Empty", first_published_at=START, last_published_at=START)
    with pytest.raises(ValueError, match="no pieces"):
        summarise(candidate)
    assert not Summary.objects.exists()


def test_the_same_pieces_give_back_the_same_summary():
    candidate = candidate_with_pieces(copy=False)
    first = summarise(candidate)
    assert summarise(candidate) == first
    assert Summary.objects.count() == 1


def test_a_new_piece_makes_a_new_summary():
    candidate = candidate_with_pieces(domains={"harbour.example", "ledger.example"}, copy=False)
    first = summarise(candidate)
    domain = "courier.example"
    lean, title, text = REPORTS[domain]
    Piece.objects.create(
        outlet=outlet(domain, lean),
        url="https://courier.example/news/bridge",
        title=title,
        text=text,
        published_at=START + timedelta(hours=9),
        candidate=candidate,
    )
    second = summarise(candidate)
    assert second != first
    assert candidate.summaries.first() == second
    assert second.pieces.count() == 3


def test_the_summary_and_its_pieces_are_stored_together(monkeypatch):
    candidate = candidate_with_pieces(copy=False)

    def broken_set(self, objs, **kwargs):
        raise IntegrityError("the pieces could not be linked")

    monkeypatch.setattr(Summary.pieces.related_manager_cls, "set", broken_set)
    with pytest.raises(IntegrityError):
        summarise(candidate)
    assert not Summary.objects.exists()


def test_bounded_work_on_a_large_candidate(django_assert_max_num_queries):
    candidate = candidate_with_pieces(copy=False)
    lean, title, text = REPORTS["courier.example"]
    for n in range(60):
        Piece.objects.create(
            outlet=outlet(f"extra{n}.example", lean),
            url=f"https://extra{n}.example/news/bridge",
            title=title,
            text=text.replace("Rivermouth", f"Rivermouth ({n})"),
            published_at=START + timedelta(minutes=n),
            candidate=candidate,
        )
    started = time.perf_counter()
    with django_assert_max_num_queries(8):
        summary = summarise(candidate)
    print(f"extractive summary of {candidate.pieces.count()} pieces: {time.perf_counter() - started:.3f} s")
    assert summary.pieces.count() == extractive.PIECES_MAX
