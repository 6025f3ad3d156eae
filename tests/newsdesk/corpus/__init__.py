"""The labelled corpus the grouping is judged on, and the B-cubed measure it is judged by.

outlets.json lists ten fictional outlets with their leans; each events_<letter>.json is a list of
pieces, {"event", "outlet", "url", "title", "published_at", "author", "text"}, whose "event" is the
label: the pieces sharing it report one event. Every text was written for this project.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FOLDER = Path(__file__).parent
FIELDS = frozenset({"event", "outlet", "url", "title", "published_at", "author", "text"})


def outlets() -> list[dict]:
    """The outlets: {"domain", "name", "bias"}."""
    return json.loads((FOLDER / "outlets.json").read_text(encoding="utf-8"))


def pieces() -> list[dict]:
    """Every piece of every events_*.json present, in publishing order, "published_at" read into
    an aware datetime. A piece missing a field or naming an unknown outlet is an error."""
    domains = {outlet["domain"] for outlet in outlets()}
    found = []
    for path in sorted(FOLDER.glob("events_*.json")):
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


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def bcubed(clusters: dict, labels: dict) -> Scores:
    """B-cubed precision and recall of a clustering against the true labels (Bagga and Baldwin
    1998; Amigó et al. 2009): for each item, the share of its cluster that has its label
    (precision) and the share of its label that is in its cluster (recall), averaged over items.

    clusters: item -> cluster id; labels: item -> true label, over the same items.
    """
    if set(clusters) != set(labels):
        raise ValueError("clusters and labels must cover the same items")
    if not clusters:
        raise ValueError("no items to score")
    members, labelled, both = {}, {}, {}
    for item, cluster in clusters.items():
        members[cluster] = members.get(cluster, 0) + 1
        labelled[labels[item]] = labelled.get(labels[item], 0) + 1
        pair = (cluster, labels[item])
        both[pair] = both.get(pair, 0) + 1
    precision = recall = 0.0
    for item, cluster in clusters.items():
        shared = both[(cluster, labels[item])]
        precision += shared / members[cluster]
        recall += shared / labelled[labels[item]]
    return Scores(precision / len(clusters), recall / len(clusters))
