"""The newsdesk's corpus: 320 pieces by ten fictional outlets about 32 fictional events, every
text written for this project, each piece labelled with its event. The tests judge the grouping
on it (B-cubed, tests/newsdesk/corpus); the demo serves it as the outlets' live feeds
(feed_server), dated so that its newest piece is minutes old.

corpus/outlets.json lists the outlets with their leans; each corpus/events_<letter>.json is a list
of pieces, {"event", "outlet", "url", "title", "published_at", "author", "text"}, whose "event" is
the label: the pieces sharing it report one event.
"""

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from newsdesk.demo.feed_server import Item

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


FIELDS = frozenset({"event", "outlet", "url", "title", "published_at", "author", "text"})


@cache
def outlets() -> list[dict]:
    """The outlets: {"domain", "name", "bias", "country", "ratings"} (ratings: a dated history, in the
    import format of articles.transfer.outlet_ratings)."""
    return json.loads((CORPUS_DIR / "outlets.json").read_text(encoding="utf-8"))


@cache
def pieces() -> list[dict]:
    """Every piece of every events_*.json, in publishing order, "published_at" read into an aware
    datetime. A piece missing a field or naming an unknown outlet is an error."""
    domains = {outlet["domain"] for outlet in outlets()}
    found = []
    for path in sorted(CORPUS_DIR.glob("events_*.json")):
        for number, piece in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            if set(piece) != FIELDS:
                raise ValueError(f"{path.name} piece {number}: fields {sorted(set(piece) ^ FIELDS)} wrong")
            if piece["outlet"] not in domains:
                raise ValueError(f"{path.name} piece {number}: unknown outlet {piece['outlet']}")
            published_at = datetime.fromisoformat(piece["published_at"])
            if published_at.tzinfo is None:
                raise ValueError(f"{path.name} piece {number}: published_at has no time zone")
            found.append({**piece, "published_at": published_at})
    return sorted(found, key=lambda piece: (piece["published_at"], piece["url"]))


def items(*, now: datetime | None = None, newest_age=timedelta(minutes=20)) -> list[Item]:
    """The pieces as a feed server's items, every date moved by the same amount so the newest
    was published `newest_age` before `now` (the gaps between pieces, and so the events, are kept)."""
    now = now or datetime.now(UTC)
    all_pieces = pieces()
    shift = (now - newest_age) - all_pieces[-1]["published_at"]
    names = {o["domain"]: o["name"] for o in outlets()}
    return [
        Item(
            outlet=p["outlet"],
            outlet_name=names[p["outlet"]],
            # Undated paths: the corpus's dates are moved, the addresses would keep the old ones.
            path=f"/{p['outlet']}/{urlsplit(p['url']).path.rstrip('/').rsplit('/', 1)[-1]}",
            title=p["title"],
            author=p["author"],
            published_at=p["published_at"] + shift,
            text=p["text"],
        )
        for p in all_pieces
    ]
