"""Rows for the desk's tests, built directly: outlets, a candidate and its pieces, a summary."""

from datetime import UTC, datetime, timedelta

from articles.models import Category, Source, SourceRating
from newsdesk.models import Candidate, Piece, Summary
from tests.factories import RATED_SINCE

START = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


def outlet(domain: str, lean: str) -> Source:
    name = domain.split(".")[0].title()
    source = Source.objects.create(
        name=name, slug=domain.replace(".", "-"), domain=domain, homepage=f"https://{domain}/", bias=lean
    )
    if lean != Source.Lean.UNRATED:  # the dated rating behind the lean, as tests.factories makes it
        SourceRating.objects.create(source=source, lean=lean, effective_from=RATED_SINCE, method="Test")
    return source


def candidate(title="Harbour strike ends after three weeks", *, section="world", **fields) -> Candidate:
    fields.setdefault("first_published_at", START)
    fields.setdefault("last_published_at", START)
    section = Category.objects.get(slug=section) if section else None
    return Candidate.objects.create(title=title, section=section, **fields)


def piece(cand: Candidate | None, source: Source, n: int, *, copy_of=None, image_url="", **fields) -> Piece:
    published = START + timedelta(minutes=10 * n)
    made = Piece.objects.create(
        candidate=cand,
        outlet=source,
        url=fields.pop("url", f"https://{source.domain}/news/{n}"),
        title=fields.pop("title", f"Dockers return to work at the harbour ({source.name} {n})"),
        published_at=published,
        text=fields.pop(
            "text",
            "Dockers returned to work on Monday after a three-week strike. "
            "The union said the deal raised pay by six percent.",
        ),
        copy_of=copy_of,
        image_url=image_url,
        **fields,
    )
    if cand is not None:
        cand.last_published_at = max(cand.last_published_at, published)
        cand.outlets_count = cand.pieces.filter(copy_of=None).values("outlet").distinct().count()
        cand.save(update_fields=["last_published_at", "outlets_count"])
    return made


def summary(cand: Candidate, text="Dockers went back to work.\n\nThe deal raises pay.") -> Summary:
    made = Summary.objects.create(
        candidate=cand,
        text=text,
        method=Summary.Method.EXTRACTIVE,
        provenance=[
            {
                "sentence": "Dockers went back to work.",
                "pieces": list(cand.pieces.values_list("pk", flat=True)),
            }
        ],
    )
    made.pieces.set(cand.pieces.all())
    return made


def newsroom():
    """Five outlets and a candidate: an original piece from a left, a lean-right, a center and an
    unrated outlet, and a wire copy of the left one's piece run by a right-leaning outlet."""
    left = outlet("leftpost.example", Source.Lean.LEFT)
    lean_right = outlet("rightwire.example", Source.Lean.LEAN_RIGHT)
    center = outlet("centre.example", Source.Lean.CENTER)
    unrated = outlet("localnews.example", Source.Lean.UNRATED)
    right = outlet("syndic.example", Source.Lean.RIGHT)
    cand = candidate()
    pieces = {
        "left": piece(cand, left, 1),
        "lean_right": piece(cand, lean_right, 2),
        "center": piece(cand, center, 3),
        "unrated": piece(cand, unrated, 4),
    }
    pieces["copy"] = piece(cand, right, 0, copy_of=pieces["left"], title="Dockers return to work (wire)")
    return cand, pieces
