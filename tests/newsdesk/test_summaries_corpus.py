"""The extractive summary over every event of the labelled corpus (newsdesk/demo/corpus/): each
event's pieces as one candidate, in memory (no database needed: the maker reads pieces only)."""

import json
import statistics
from collections import Counter
from datetime import datetime

from articles.models import Source
from newsdesk.demo.corpus import CORPUS_DIR as CORPUS
from newsdesk.models import Piece
from newsdesk.summaries import extractive
from newsdesk.summaries.sentences import sentences


def events() -> dict[str, list[Piece]]:
    """event -> its pieces, oldest first, each with its outlet (read straight from the JSON files)."""
    listed = json.loads((CORPUS / "outlets.json").read_text(encoding="utf-8"))
    outlets = {o["domain"]: Source(pk=n, name=o["name"], domain=o["domain"]) for n, o in enumerate(listed, 1)}
    items = [
        item for path in sorted(CORPUS.glob("events_*.json")) for item in json.loads(path.read_text("utf-8"))
    ]
    found: dict[str, list[Piece]] = {}
    for pk, item in enumerate(sorted(items, key=lambda item: (item["published_at"], item["url"])), 1):
        published_at = datetime.fromisoformat(item["published_at"])
        piece = Piece(pk=pk, outlet=outlets[item["outlet"]], title=item["title"], text=item["text"],
                      url=item["url"], published_at=published_at)  # fmt: skip
        found.setdefault(item["event"], []).append(piece)
    assert len(found) >= 30
    return found


def test_every_event_gets_a_summary_in_the_reference_shape_from_several_outlets():
    words, body_paragraphs, outlets_used = [], [], []
    for event, pieces in events().items():
        made = extractive.draft(pieces)
        by_pk = {p.pk: p for p in pieces}
        lead, *body = made.text.split("\n\n")
        words.append(len(made.text.split()))
        body_paragraphs.append(len(body))
        chosen = [e["sentence"] for e in made.provenance]
        assert len(chosen) == len(set(chosen)), event
        assert len(sentences(lead)) == 1, event
        for entry in made.provenance:
            assert all(entry["sentence"] in by_pk[pk].text for pk in entry["pieces"]), event
        used = {by_pk[pk].outlet_id for e in made.provenance for pk in e["pieces"]}
        outlets_used.append(len(used))
        if len({p.outlet_id for p in pieces}) >= 2:
            assert len(used) >= 2, event
        assert words[-1] <= extractive.WORDS_MAX, event
        assert 2 <= len(body) <= 4 or len(chosen) < 3, event
    print(
        f"\n{len(words)} events: words {min(words)}-{max(words)} (median {statistics.median(words)}), "
        f"body paragraphs {dict(Counter(body_paragraphs))}, outlets per summary "
        f"{min(outlets_used)}-{max(outlets_used)} (median {statistics.median(outlets_used)})"
    )
