"""A story candidate's draft summary, with how it was made: written by a language model when one is
configured (llm.py), else, or when the model fails, sentences chosen from the pieces (extractive.py).

    summary = summarise(candidate)

Only what the desk needs is kept: when the candidate's newest summary was made the same way from
exactly the same pieces, it is returned instead of a new one."""

import logging

from django.db import transaction

from newsdesk.models import Candidate, Summary

from . import extractive, llm
from .material import Draft, candidate_pieces

logger = logging.getLogger(__name__)

__all__ = ["summarise"]


def summarise(candidate: Candidate) -> Summary:
    """The candidate's summary, made now or the newest one if it is still current. Raises ValueError
    when the candidate has nothing to summarise (no pieces, or no text nor headline in them)."""
    pieces = candidate_pieces(candidate)
    if not pieces:
        raise ValueError(f"Story candidate {candidate.pk} has no pieces to summarise.")
    newest = candidate.summaries.prefetch_related("pieces").first()
    note = ""
    if llm.configured():
        model = llm.model_name()
        try:
            if _is_same(newest, Summary.Method.LLM, model, llm.PROMPT_VERSION, llm.given(pieces)):
                return newest
            made = llm.draft(pieces)
        except llm.LLMError as error:
            note = f"The language model ({model}) was not used: {error}"[:300]
            logger.warning("Summary of candidate %s: %s", candidate.pk, note)
        else:
            return _store(candidate, made, method=Summary.Method.LLM, model=model)
    made = extractive.draft(pieces)
    if _is_same(newest, Summary.Method.EXTRACTIVE, "", "", made.pieces):
        return newest
    return _store(candidate, made, method=Summary.Method.EXTRACTIVE, model="", note=note)


def _is_same(newest: Summary | None, method: str, model: str, prompt_version: str, pieces) -> bool:
    return (
        newest is not None
        and (newest.method, newest.model, newest.prompt_version) == (method, model, prompt_version)
        and {p.pk for p in newest.pieces.all()} == {p.pk for p in pieces}
    )


def _store(candidate: Candidate, made: Draft, *, method: str, model: str, note: str = "") -> Summary:
    with transaction.atomic():
        summary = Summary.objects.create(
            candidate=candidate,
            text=made.text,
            method=method,
            model=model,
            prompt_version=llm.PROMPT_VERSION if method == Summary.Method.LLM else "",
            provenance=made.provenance,
            note=note,
        )
        summary.pieces.set(made.pieces)
    return summary
