"""The pieces bench/ingest.py feeds the newsdesk: the labelled corpus (newsdesk/demo/corpus.py) used
again in variants. Variant v of a piece is published 5·v weeks before the corpus's own time (the
corpus spans four weeks and the grouping's window is three days, so each variant's events are
events of their own), and every name of the corpus (a word capitalised in mid-sentence) gets a
suffix of its own in variant v, so the variants do not share the words that tell events apart.

No Django here: the outlet servers run in the benchmark's own process.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

from newsdesk.demo import corpus
from newsdesk.demo.feed_server import Item

VARIANT_GAP = timedelta(weeks=5)
NEWEST_AGE = timedelta(minutes=20)  # the newest piece of variant 0 was published this long before now
LEANS = ("left", "lean_left", "center", "lean_right", "right", "unrated")
SYLLABLES = ("ar", "en", "ov", "il", "ust", "ek", "ora", "im", "and", "ulo")
_WORD = re.compile(r"[A-Z][a-z]+")
_SENTENCE_END = re.compile(r"[.!?:;\"“”]\s*$")


@dataclass(frozen=True)
class VariantPiece:
    """One corpus piece in one variant: its event, dates and names moved."""

    index: int  # the corpus piece's position (oldest first)
    variant: int
    event: str  # "<variant>:<corpus event>"
    slug: str
    title: str
    author: str
    published_at: datetime
    text: str

    @property
    def corpus_outlet(self) -> str:
        return corpus.pieces()[self.index]["outlet"]


def outlet_domain(number: int) -> str:
    return f"bench-outlet-{number:02d}.example"


@cache
def names() -> frozenset[str]:
    """Words the corpus writes capitalised in mid-sentence (its people, places, bodies): varied."""
    found = set()
    for piece in corpus.pieces():
        text = piece["text"]
        for match in _WORD.finditer(text):
            before = text[max(0, match.start() - 3) : match.start()]
            if match.start() > 0 and not _SENTENCE_END.search(before) and "\n" not in before:
                found.add(match.group())
    return frozenset(found)


@cache
def _names_pattern() -> re.Pattern:
    return re.compile(r"\b(" + "|".join(sorted(map(re.escape, names()), key=len, reverse=True)) + r")\b")


def suffix(variant: int) -> str:
    """A pronounceable suffix per variant ('' for variant 0): its digits as syllables."""
    if variant == 0:
        return ""
    out = ""
    while variant:
        variant, digit = divmod(variant, len(SYLLABLES))
        out += SYLLABLES[digit]
    return out


def vary(text: str, variant: int) -> str:
    end = suffix(variant)
    return _names_pattern().sub(lambda m: m.group(1) + end, text) if end else text


def variant_piece(index: int, variant: int, *, shift: timedelta, dated_as: int | None = None) -> VariantPiece:
    """Corpus piece `index` in `variant` (names), dated as variant `dated_as` (default: the same)."""
    piece = corpus.pieces()[index]
    dated = variant if dated_as is None else dated_as
    return VariantPiece(
        index=index,
        variant=variant,
        event=f"{variant}:{piece['event']}",
        slug=urlsplit(piece["url"]).path.rstrip("/").rsplit("/", 1)[-1][:80],
        title=vary(piece["title"], variant),
        author=piece["author"],
        published_at=piece["published_at"] + shift - dated * VARIANT_GAP,
        text=vary(piece["text"], variant),
    )


def base_shift(now: datetime | None = None) -> timedelta:
    """What moves variant 0's newest piece to NEWEST_AGE before now."""
    now = now or datetime.now(UTC)
    return (now - NEWEST_AGE) - corpus.pieces()[-1]["published_at"]


def variant_pieces(count: int, *, now: datetime | None = None) -> list[VariantPiece]:
    """`count` pieces: variant 0 of every corpus piece, then variant 1, and so on."""
    size = len(corpus.pieces())
    shift = base_shift(now)
    return [variant_piece(k % size, k // size, shift=shift) for k in range(count)]


def variants_needed(count: int) -> int:
    return math.ceil(count / len(corpus.pieces()))


def outlet_items(count: int, outlets: int) -> dict[str, list[Item]]:
    """`count` items spread round-robin over `outlets` outlets: domain -> its items."""
    by_outlet: dict[str, list[Item]] = {outlet_domain(n + 1): [] for n in range(outlets)}
    for k, piece in enumerate(variant_pieces(count)):
        domain = outlet_domain(k % outlets + 1)
        by_outlet[domain].append(
            Item(
                outlet=domain,
                outlet_name=f"Bench Outlet {k % outlets + 1:02d}",
                path=f"/{domain}/{piece.slug}-{k:05d}",
                title=piece.title,
                author=piece.author,
                published_at=piece.published_at,
                text=piece.text,
            )
        )
    return by_outlet


def events_count(count: int) -> int:
    """Distinct events (variant, corpus event) among the first `count` variant pieces."""
    return len({piece.event for piece in variant_pieces(count)})
