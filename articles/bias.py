"""Bias arithmetic: whole percentages that always sum to exactly 100.

Largest-remainder (Hamilton) rounding: floor every share, then hand the points still missing to
the shares with the largest fractional parts (ties go left, center, right in that order so the
result is deterministic).
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

LEFT_LEANS = frozenset({"left", "lean_left"})
CENTER_LEANS = frozenset({"center"})
RIGHT_LEANS = frozenset({"right", "lean_right"})


@dataclass(frozen=True)
class BiasSplit:
    left: int
    center: int
    right: int
    unrated: int = 0

    @property
    def rated(self) -> bool:
        return self.left + self.center + self.right == 100


def largest_remainder(counts: Iterable[int], total: int = 100) -> list[int]:
    """Split `total` in proportion to `counts` into whole numbers that sum to `total` exactly."""
    counts = list(counts)
    if any(c < 0 for c in counts):
        raise ValueError("counts must not be negative")
    whole = sum(counts)
    if whole == 0:
        raise ValueError("at least one count must be positive")
    quotas = [c * total for c in counts]
    shares = [q // whole for q in quotas]
    missing = total - sum(shares)
    # Remainders compared as integers (q % whole) so no float error can reorder them.
    by_remainder = sorted(range(len(counts)), key=lambda i: (-(quotas[i] % whole), i))
    for i in by_remainder[:missing]:
        shares[i] += 1
    return shares


def voices(citations: Iterable[tuple[Hashable, str | None, bool]]) -> list[str | None]:
    """The leans a computed bar counts, from a story's citations as (outlet, lean, wire_copy).

    One voice per outlet: an outlet cited twice (two of its pieces) counts once, and a wire copy
    counts not at all, since its original is cited too (a copy whose outlet also has an original
    row changes nothing either way). The first lean seen for an outlet stands.
    """
    leans: dict[Hashable, str | None] = {}
    for outlet, lean, wire_copy in citations:
        if not wire_copy:
            leans.setdefault(outlet, lean)
    return list(leans.values())


def side_counts(leans: Iterable[str | None]) -> tuple[int, int, int, int]:
    """(left, center, right, unrated) voices among `leans`: lean_left counts left, lean_right right."""
    left = center = right = unrated = 0
    for lean in leans:
        if lean in LEFT_LEANS:
            left += 1
        elif lean in RIGHT_LEANS:
            right += 1
        elif lean in CENTER_LEANS:
            center += 1
        else:
            unrated += 1
    return left, center, right, unrated


def split_from_leans(leans: Iterable[str]) -> BiasSplit | None:
    """Percentages from the leans of an article's sources; None when no source is rated.

    lean_left counts as left, lean_right as right; unrated sources are left out of the
    percentages and counted apart.
    """
    left, center, right, unrated = side_counts(leans)
    if left + center + right == 0:
        return None
    pl, pc, pr = largest_remainder([left, center, right])
    return BiasSplit(pl, pc, pr, unrated)
