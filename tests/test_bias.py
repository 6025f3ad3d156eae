from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from articles.bias import BiasSplit, largest_remainder, split_from_leans, voices


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([1, 1, 1], [34, 33, 33]),  # tie on the remainder: the point goes left first
        ([2, 1, 0], [67, 33, 0]),
        ([0, 1, 0], [0, 100, 0]),
        ([0, 0, 7], [0, 0, 100]),
        ([1, 2], [33, 67]),
        ([3, 3, 1], [43, 43, 14]),  # 42.86, 42.86, 14.29: the two largest remainders get a point
        ([1, 1, 1, 1, 1, 1], [17, 17, 17, 17, 16, 16]),
    ],
)
def test_largest_remainder_cases(counts, expected):
    assert largest_remainder(counts) == expected


def test_largest_remainder_other_total():
    assert largest_remainder([1, 1, 1], total=10) == [4, 3, 3]


@pytest.mark.parametrize("counts", [[0, 0, 0], [], [1, -1, 2]])
def test_largest_remainder_refuses_nonsense(counts):
    with pytest.raises(ValueError):
        largest_remainder(counts)


@given(
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=3, max_size=3).filter(lambda c: sum(c) > 0)
)
def test_largest_remainder_always_sums_to_100(counts):
    shares = largest_remainder(counts)
    assert len(shares) == 3
    assert all(isinstance(s, int) and 0 <= s <= 100 for s in shares)
    assert sum(shares) == 100
    for count, share in zip(counts, shares, strict=True):
        exact = Fraction(count * 100, sum(counts))
        assert abs(share - exact) < 1


def test_split_counts_lean_left_as_left_and_lean_right_as_right():
    split = split_from_leans(["lean_left", "left", "center", "lean_right"])
    assert split == BiasSplit(left=50, center=25, right=25, unrated=0)
    assert split.rated


def test_split_leaves_unrated_out_and_counts_them_apart():
    split = split_from_leans(["center", "unrated", "right", "unrated"])
    assert split == BiasSplit(left=0, center=50, right=50, unrated=2)


def test_split_of_three_outlets_rounds_to_100():
    assert split_from_leans(["left", "center", "right"]) == BiasSplit(34, 33, 33, 0)


@pytest.mark.parametrize("leans", [[], ["unrated"], ["unrated", "unrated"]])
def test_split_without_any_rated_source_is_none(leans):
    assert split_from_leans(leans) is None


# --- One voice per outlet ------------------------------------------------------------------------


def test_an_outlet_cited_twice_is_one_voice_and_its_first_lean_stands():
    assert voices([(1, "left", False), (2, "right", False), (1, "left", False)]) == ["left", "right"]


def test_a_wire_copy_is_no_voice():
    assert voices([(1, "left", False), (2, "right", True)]) == ["left"]
    assert voices([(2, "right", True)]) == []


def test_a_wire_copy_whose_outlet_also_has_an_original_changes_nothing():
    original = [(1, "left", False), (2, "right", False)]
    assert (
        voices([*original, (2, "right", True)])
        == voices([(2, "right", True), *original])
        == ["left", "right"]
    )


@given(st.lists(st.tuples(st.integers(min_value=1, max_value=6), st.booleans())))
def test_voices_are_the_distinct_outlets_of_the_rows_that_are_not_copies(rows):
    # Each outlet its own lean, so the leans counted name the outlets counted.
    cited = [(outlet, f"lean-of-{outlet}", copy) for outlet, copy in rows]
    expected = sorted({f"lean-of-{outlet}" for outlet, copy in rows if not copy})
    assert sorted(voices(cited)) == expected
