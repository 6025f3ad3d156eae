"""A story's "How this was rated": what its bar rests on, read from BiasRating.basis, for readers.

The basis is written by articles.newsroom (one entry per distinct outlet cited, each with the rating
in force on BiasRating.as_of; the outlets cited only as wire copies apart). Rows written before the
basis existed hold {}, and a JSON field can hold anything: every entry is read defensively, and
whatever cannot be read is left out rather than shown wrong or failing the story page.
Runs no query: the rating comes with the story, the citations with their outlets.
"""

from dataclasses import dataclass
from datetime import date

from django.urls import NoReverseMatch, reverse

from articles.bias import CENTER_LEANS, LEFT_LEANS, RIGHT_LEANS, BiasSplit, split_from_leans
from articles.models import Source, SourceRating

LEAN_LABELS = dict(Source.Lean.choices)
CONFIDENCE_LABELS = dict(SourceRating.Confidence.choices)


@dataclass(frozen=True)
class Outlet:
    name: str
    url: str | None  # its page on this site
    lean: str  # a Source.Lean value; "unrated" for anything unreadable
    lean_label: str
    rater: str
    external: bool
    effective_from: date | None
    confidence: str  # the label, "" when unknown
    method: str


@dataclass(frozen=True)
class Disclosure:
    rating: object  # the story's BiasRating, or None
    editorial: bool
    as_of: date | None
    recorded: bool  # whether the rating records its basis (False: made before bases were kept)
    counted: list[Outlet]
    unrated: list[Outlet]
    wire_copies: list[Outlet]
    sides: tuple[int, int, int]  # counted outlets on the left, center, right
    computed: BiasSplit | None  # the split the counted outlets give (shown beside an editor's numbers)
    no_bar_reason: str  # for a story without a rating: "no-sources", "wire-copies-only" or "none-rated"
    cited: list[str]  # for a story without a rating: the outlets it cites (wire copies apart)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _day(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _outlet_url(slug) -> str | None:
    if not isinstance(slug, str) or not slug:
        return None
    try:
        return reverse("articles:source", kwargs={"slug": slug})
    except NoReverseMatch:
        return None


def _outlet(entry: dict) -> Outlet | None:
    name = _text(entry.get("name"))
    if not name:
        return None
    lean = entry.get("lean")
    lean = lean if isinstance(lean, str) and lean in LEAN_LABELS else Source.Lean.UNRATED
    rated = lean != Source.Lean.UNRATED
    confidence = entry.get("confidence")
    return Outlet(
        name=name,
        url=_outlet_url(entry.get("slug")),
        lean=lean,
        lean_label=LEAN_LABELS[lean],
        rater=_text(entry.get("rater")) if rated else "",
        external=entry.get("rater_kind") == SourceRating.RaterKind.EXTERNAL,
        effective_from=_day(entry.get("effective_from")) if rated else None,
        confidence=CONFIDENCE_LABELS.get(confidence, "") if rated and isinstance(confidence, str) else "",
        method=_text(entry.get("method")).rstrip(".") if rated else "",
    )


def _entries(basis, key: str) -> list[Outlet] | None:
    """The readable outlets under `key` of the basis; None when the basis has no such list."""
    items = basis.get(key) if isinstance(basis, dict) else None
    if not isinstance(items, list):
        return None
    return [outlet for item in items if isinstance(item, dict) and (outlet := _outlet(item))]


def _side_counts(outlets: list[Outlet]) -> tuple[int, int, int]:
    return (
        sum(o.lean in LEFT_LEANS for o in outlets),
        sum(o.lean in CENTER_LEANS for o in outlets),
        sum(o.lean in RIGHT_LEANS for o in outlets),
    )


def _no_bar_reason(citations) -> tuple[str, list[str]]:
    originals = list(dict.fromkeys(c.source.name for c in citations if not c.wire_copy))
    if not citations:
        return "no-sources", []
    if not originals:
        return "wire-copies-only", []
    return "none-rated", originals


def rating_disclosure(*, rating, citations) -> Disclosure:
    """What "How this was rated" shows for a story with this rating (None: no bar) and citations."""
    if not rating:
        reason, cited = _no_bar_reason(citations)
        return Disclosure(None, False, None, False, [], [], [], (0, 0, 0), None, reason, cited)
    outlets = _entries(rating.basis, "outlets")
    copies = _entries(rating.basis, "wire_copies") or []
    recorded = outlets is not None
    outlets = outlets or []
    counted = [o for o in outlets if o.lean != Source.Lean.UNRATED]
    return Disclosure(
        rating=rating,
        editorial=rating.method == rating.Method.EDITORIAL,
        as_of=rating.as_of,
        recorded=recorded,
        counted=counted,
        unrated=[o for o in outlets if o.lean == Source.Lean.UNRATED],
        wire_copies=copies,
        sides=_side_counts(counted),
        computed=split_from_leans(o.lean for o in counted) if counted else None,
        no_bar_reason="",
        cited=[],
    )
