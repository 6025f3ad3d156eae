"""What both makers of a summary share: the candidate's pieces as material (a wire copy is no voice
of its own), the unsaved draft they return, and the Markdown they write it in."""

import re
from dataclasses import dataclass

from newsdesk.models import Candidate, Piece


@dataclass(frozen=True)
class Draft:
    """A summary before it is stored: Markdown paragraphs, which pieces each sentence came from
    ([{"sentence": str, "pieces": [piece ids]}], in the text's order) and the pieces drawn on."""

    text: str
    provenance: list[dict]
    pieces: list[Piece]


def candidate_pieces(candidate: Candidate) -> list[Piece]:
    """The candidate's pieces, oldest first, with their outlets and originals, in one query."""
    return list(candidate.pieces.select_related("outlet", "copy_of__outlet").order_by("published_at", "pk"))


def originals(pieces: list[Piece]) -> list[Piece]:
    """The pieces that are voices of their own: a copy whose original is among `pieces` says
    nothing its original does not (a copy whose original is elsewhere stands in for it)."""
    ids = {p.pk for p in pieces}
    return [p for p in pieces if p.copy_of_id not in ids]


def copies_by_original(pieces: list[Piece]) -> dict[int, list[int]]:
    """original id -> the ids of its copies among `pieces`."""
    ids, found = {p.pk for p in pieces}, {}
    for piece in pieces:
        if piece.copy_of_id in ids:
            found.setdefault(piece.copy_of_id, []).append(piece.pk)
    return found


def voice(piece: Piece) -> int:
    """The outlet a piece speaks for: its original's outlet when it is a copy."""
    return piece.copy_of.outlet_id if piece.copy_of_id else piece.outlet_id


# Markdown that plain reporting would set off by accident: emphasis, code, links, raw HTML, and
# a paragraph opening like a heading, a quote block or a list.
INLINE_SPECIALS = re.compile(r"([\\`*_\[\]])")
LINE_OPENER = re.compile(r"^(?:[#>+-]|\d+(?=[.)](?:\s|$)))")


def markdown_paragraphs(paragraphs: list[list[str]]) -> str:
    """Plain sentences as Markdown: sentences joined by a space, paragraphs by a blank line, with
    anything Markdown would read as markup escaped so the text shows as it was written."""
    out = []
    for sentences in paragraphs:
        text = INLINE_SPECIALS.sub(r"\\\1", " ".join(sentences)).replace("<", "&lt;")
        opener = LINE_OPENER.match(text)
        if opener:
            # "#", ">", "+", "-" are escaped themselves; a list number by the stop after it ("2026\.").
            at = opener.end() if opener.group().isdigit() else 0
            text = f"{text[:at]}\\{text[at:]}"
        out.append(text)
    return "\n\n".join(p for p in out if p)
