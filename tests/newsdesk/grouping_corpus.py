"""The labelled corpus grouped in a given order, scored with B-cubed: the grouping tests' harness.

Orders: publishing order (a steady deployment reads pieces about as they appear); outlet by outlet
as the demo reads it (`manage.py fetch_feeds --now` takes the feeds sorted by outlet domain, each
feed lists its items newest first, as RSS does, and ingestion stores them in that order: the cold
start of a real deployment); and shuffles (any order at all).
"""

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from articles.models import Source
from newsdesk.grouping import group_piece
from newsdesk.models import Piece
from tests.newsdesk import corpus


def publishing_order() -> list[dict]:
    return list(corpus.pieces())


def outlet_order() -> list[dict]:
    """Feed by feed, by outlet domain (fetch_feeds' order), each feed newest first (the demo feed
    server sorts by time, newest first; pieces of one time keep the corpus's order)."""
    by_outlet = defaultdict(list)
    for row in sorted(corpus.pieces(), key=lambda row: row["published_at"], reverse=True):
        by_outlet[row["outlet"]].append(row)
    return [row for domain in sorted(by_outlet) for row in by_outlet[domain]]


def shuffled_order(seed: int) -> list[dict]:
    rows = list(corpus.pieces())
    random.Random(seed).shuffle(rows)
    return rows


@dataclass
class Grouped:
    pieces: int
    candidates: int
    precision: float
    recall: float
    f1: float
    mixed: list[dict]  # the candidates holding pieces of more than one event: event -> pieces

    def line(self, name: str) -> str:
        return (
            f"{name}: {self.pieces} pieces -> {self.candidates} candidates; B-cubed precision "
            f"{self.precision:.3f}, recall {self.recall:.3f}, F1 {self.f1:.3f}"
        )


def group_corpus(rows: list[dict]) -> Grouped:
    """Store and group `rows` (corpus pieces) one by one in the order given; score the result."""
    sources = {
        row["domain"]: Source.objects.get_or_create(
            domain=row["domain"],
            defaults={
                "name": row["name"], "slug": row["domain"].split(".")[0],
                "homepage": f"https://{row['domain']}/", "bias": row["bias"],
            },
        )[0]
        for row in corpus.outlets()
    }  # fmt: skip
    for row in rows:
        group_piece(
            Piece.objects.create(
                outlet=sources[row["outlet"]], url=row["url"], title=row["title"], author=row["author"],
                text=row["text"], published_at=row["published_at"], extraction=Piece.Extraction.PAGE,
            )
        )  # fmt: skip
    found = dict(Piece.objects.filter(url__in=[row["url"] for row in rows]).values_list("url", "candidate"))
    labels = {row["url"]: row["event"] for row in rows}
    scores = corpus.bcubed(found, labels)
    events = defaultdict(Counter)
    for url, candidate in found.items():
        events[candidate][labels[url]] += 1
    return Grouped(
        pieces=len(rows),
        candidates=len(events),
        precision=scores.precision,
        recall=scores.recall,
        f1=scores.f1,
        mixed=[dict(found) for found in events.values() if len(found) > 1],
    )
