"""The B-cubed measure the grouping is judged by, and the labelled corpus it is judged on
(newsdesk/demo/corpus/, loaded by newsdesk.demo.corpus: the demo serves the same pieces)."""

from dataclasses import dataclass

from newsdesk.demo.corpus import FIELDS, outlets, pieces

__all__ = ["FIELDS", "Scores", "bcubed", "outlets", "pieces"]


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
