"""The B-cubed measure the grouping is judged by, on cases small enough to compute by hand."""

import pytest

from tests.newsdesk.corpus import Scores, bcubed

# Three items: a and b report event X, c reports event Y.
LABELS = {"a": "X", "b": "X", "c": "Y"}


def test_the_true_clustering_scores_one():
    scores = bcubed({"a": 1, "b": 1, "c": 2}, LABELS)
    assert scores == Scores(1.0, 1.0)
    assert scores.f1 == 1.0


def test_one_cluster_for_everything_has_full_recall_and_poor_precision():
    # a: 2 of its 3 cluster-mates are X (2/3); b: 2/3; c: 1/3 -> precision 5/9; recall 1.
    scores = bcubed({"a": 1, "b": 1, "c": 1}, LABELS)
    assert scores.precision == pytest.approx(5 / 9)
    assert scores.recall == 1.0
    assert scores.f1 == pytest.approx(5 / 7)  # 2 * 5/9 / (5/9 + 1)


def test_singletons_have_full_precision_and_partial_recall():
    # a holds 1 of X's 2 items (1/2), b 1/2, c all of Y's (1) -> recall 2/3.
    scores = bcubed({"a": 1, "b": 2, "c": 3}, LABELS)
    assert scores.precision == 1.0
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(0.8)


def test_a_wrong_pairing_costs_both_sides():
    # Clusters {a, c} and {b}: a 1/2 precision, 1/2 recall; b 1, 1/2; c 1/2, 1.
    scores = bcubed({"a": 1, "c": 1, "b": 2}, LABELS)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)


def test_cluster_ids_and_labels_are_only_names():
    assert bcubed({"a": "p", "b": "p", "c": "q"}, LABELS) == bcubed({"a": 7, "b": 7, "c": 8}, LABELS)


@pytest.mark.parametrize(
    ("clusters", "labels"), [({"a": 1}, {"b": "X"}), ({}, {}), ({"a": 1, "b": 1}, {"a": "X"})]
)
def test_items_must_match(clusters, labels):
    with pytest.raises(ValueError):
        bcubed(clusters, labels)


def test_f1_of_nothing_is_zero():
    assert Scores(0.0, 0.0).f1 == 0.0
