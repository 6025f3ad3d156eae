"""Blindspots by the stated rule (coverage.blindspots), checked against numbers worked out by hand.

With z = 1.959964, z² = 3.841459. The Wilson interval of x/n is
  (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n),   p = x/n.
At x = 0 it is [0, z²/(n + z²)]; at x = n it is [n/(n + z²), 1].
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from coverage.blindspots import current_blindspots, is_blindspot, wilson_interval
from tests.coverage.newsroom import story, utc
from tests.test_settings import run

Z2 = 1.959964**2
NOW = utc(2025, 6, 20, 12)  # a Friday noon (13:00 in London)
TODAY = utc(2025, 6, 20, 9)  # a candidate's publish time: local day 20 June
EARLIER = utc(2025, 6, 10, 9)  # ten days before: in the 30-day window


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (0, 7, 0.0, 0.354330),  # z²/(7 + z²) = 3.841459/10.841459
        (0, 8, 0.0, 0.324408),  # z²/(8 + z²) = 3.841459/11.841459
        (0, 9, 0.0, 0.299145),  # z²/(9 + z²)
        # p = 1/8: middle (0.125 + 0.240091)/1.480182 = 0.246653, half 0.224235
        (1, 8, 0.022417, 0.470888),
        (5, 10, 0.236593, 0.763407),  # symmetric about 1/2
        (8, 8, 0.675592, 1.0),  # 8/(8 + z²)
        (0, 1, 0.0, 0.793451),
        (1, 1, 0.206549, 1.0),
    ],
)
def test_wilson_interval_by_hand(x, n, low, high):
    got_low, got_high = wilson_interval(x, n)
    assert got_low == pytest.approx(low, abs=1e-6)
    assert got_high == pytest.approx(high, abs=1e-6)


def test_wilson_interval_ends_are_exact():
    assert wilson_interval(0, 8) == (0.0, pytest.approx(Z2 / (8 + Z2)))
    assert wilson_interval(0, 8)[0] == 0.0  # not -1e-17
    assert wilson_interval(8, 8) == (pytest.approx(8 / (8 + Z2)), 1.0)
    assert wilson_interval(0, 8, z=1.0) == (0.0, pytest.approx(1 / 9))  # z² = 1: 1/(8 + 1)


@pytest.mark.parametrize(("x", "n"), [(0, 0), (1, 0), (-1, 5), (6, 5)])
def test_wilson_interval_refuses_impossible_counts(x, n):
    with pytest.raises(ValueError, match="need 0 <= x <= n"):
        wilson_interval(x, n)


@pytest.mark.parametrize(
    ("x", "n", "baseline", "flagged"),
    [
        # n = 7 is never flagged, however far the baseline (the upper bound 0.354 would pass 0.9).
        (0, 7, 0.9, False),
        (0, 7, 1 / 3, False),
        # x = 0 at a 33% baseline is flagged from n = 8: 0.324408 < 0.33.
        (0, 8, 0.33, True),
        (0, 8, 1 / 3, True),
        (0, 9, 0.33, True),
        # Just above and just below the upper bound 0.3244076 at n = 8.
        (0, 8, 0.3245, True),
        (0, 8, 0.3244, False),
        # x = 1, n = 8: upper bound 0.470888.
        (1, 8, 0.4709, True),
        (1, 8, 0.4708, False),
        (1, 8, 1 / 3, False),
        # x = n: the upper bound is 1, never below a share.
        (8, 8, 1.0, False),
        (12, 12, 0.999, False),
        # No rated voice in the window: no baseline, nothing flagged.
        (0, 20, None, False),
    ],
)
def test_the_rule_by_hand(x, n, baseline, flagged):
    assert is_blindspot(x=x, n=n, baseline=baseline, min_outlets=8) is flagged


def test_the_minimum_is_a_parameter():
    assert is_blindspot(x=0, n=9, baseline=0.33, min_outlets=8)
    assert not is_blindspot(x=0, n=9, baseline=0.33, min_outlets=10)


def thirds(section="world", at=EARLIER, each=3):
    """Earlier coverage in the section: left, center and right a third each."""
    return story(section=section, at=at, left=each, center=each, right=each)


def listed(side, **kwargs):
    return [spot.article for spot in current_blindspots(now=NOW, **kwargs)[side]]


@pytest.mark.django_db
def test_a_story_the_left_barely_covers_is_listed_with_its_numbers():
    thirds()
    blind = story(at=TODAY, left=0, center=4, right=4)
    found = current_blindspots(now=NOW)
    assert [spot.article for spot in found["left"]] == [blind]
    assert found["right"] == []  # right: 4 of 8, upper bound 0.785 > 1/3
    spot = found["left"][0]
    assert (spot.side, spot.n, spot.x, spot.share, spot.low) == ("left", 8, 0, 0.0, 0.0)
    assert spot.high == pytest.approx(0.324408, abs=1e-6)
    assert spot.baseline == pytest.approx(1 / 3)
    assert spot.article.category.slug == "world"  # loaded with the story (no query in a template)


@pytest.mark.django_db
def test_both_sides_and_seven_outlets():
    thirds()
    right_blind = story(at=TODAY, left=5, center=4, right=0)  # n = 9, x = 0
    story(at=TODAY + timedelta(hours=1), left=0, center=4, right=3)  # n = 7: never flagged
    assert listed("right") == [right_blind]
    assert listed("left") == []


@pytest.mark.django_db
def test_the_baseline_leaves_out_the_story_itself():
    # Had the story's own voices been counted, the left's baseline would be 3/17 = 0.176 < 0.324.
    thirds()
    blind = story(at=TODAY, left=0, center=8, right=0)
    assert listed("left") == [blind]


@pytest.mark.django_db
def test_the_baseline_is_the_stories_section_and_their_previous_days():
    thirds()
    story(section="politics", at=EARLIER, left=0, center=10, right=10)  # another section: not counted
    # The same day, earlier (n = 7, no candidate itself): had it counted, the left's baseline would be
    # 3/16 = 0.19 < 0.324.
    story(at=utc(2025, 6, 20, 6), left=0, center=7, right=0)
    blind = story(at=TODAY, left=0, center=8, right=0)
    assert listed("left") == [blind]
    # Politics: its own baseline says the left had no voice there, so no left blindspot.
    story(section="politics", at=TODAY, left=0, center=8, right=0)
    assert listed("left") == [blind]


@pytest.mark.django_db
def test_no_baseline_no_blindspot():
    story(at=EARLIER, rated=False)  # a story, but no rated voice in the window
    story(at=TODAY, left=0, center=8, right=0)
    assert current_blindspots(now=NOW) == {"left": [], "right": []}


@pytest.mark.django_db
def test_drafts_and_scheduled_stories_neither_count_nor_appear():
    # Live baseline: left 2 of 10 = 0.2 < 0.324: a story with no left outlet is no blindspot...
    story(at=EARLIER, left=2, center=4, right=4)
    # ...which the hidden stories' voices would turn into one (left 22 of 30).
    story(at=EARLIER, left=20, unpublished=True)
    story(at=utc(2025, 6, 12), left=20, draft=True)
    story(at=TODAY, left=0, center=8, right=0)
    story(at=TODAY, left=0, center=8, right=0, unpublished=True)
    assert listed("left") == []
    # A scheduled story is never listed, even when asked about a time after it goes live.
    thirds(at=timezone.now() - timedelta(days=2))
    story(left=0, center=8, right=0, scheduled=True)
    assert current_blindspots(now=timezone.now() + timedelta(days=3))["left"] == []
    assert current_blindspots(now=timezone.now() + timedelta(days=3))["right"] == []


@pytest.mark.django_db
def test_the_window_is_a_setting(settings):
    # 10 June is 10 days before 20 June: in a 30-day window, not in a 5-day one.
    story(at=EARLIER, left=6, center=3, right=3)
    story(at=utc(2025, 6, 18, 9), left=0, center=1, right=1)  # 2 days before: in both
    blind = story(at=TODAY, left=0, center=8, right=0)
    assert listed("left") == [blind]  # baseline 6/14 = 0.43 > 0.324
    settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS = 5
    assert listed("left") == []  # baseline 0/2


@pytest.mark.django_db
def test_the_window_ends_are_whole_days(settings):
    settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS = 30
    # 20 June's window is 21 May to 19 June, London days. 21 May 00:30 BST = 20 May 23:30 UTC.
    thirds(at=utc(2025, 5, 20, 23, 30))
    blind = story(at=TODAY, left=0, center=8, right=0)
    assert listed("left") == [blind]
    settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS = 29
    assert listed("left") == []


@pytest.mark.django_db
def test_the_minimum_and_the_recent_days_are_settings(settings):
    thirds(at=utc(2025, 6, 1))
    thirds(section="politics", at=utc(2025, 6, 1))
    blind = story(at=TODAY, left=0, center=8, right=0)
    older = story(section="politics", at=utc(2025, 6, 12, 9), left=0, center=9, right=0)  # 8 days before
    assert listed("left") == [blind]
    settings.NEWSAPP_BLINDSPOT_RECENT_DAYS = 10
    assert listed("left") == [blind, older]
    settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS = 9
    assert listed("left") == [older]


@pytest.mark.django_db
def test_newest_first_and_at_most_limit_a_side(django_assert_num_queries):
    thirds(at=utc(2025, 6, 1))
    blind = [story(at=TODAY - timedelta(hours=h), left=0, center=8, right=0) for h in range(4)]
    with django_assert_num_queries(2):
        assert listed("left", limit=3) == blind[:3]


@pytest.mark.django_db
def test_nothing_recent_one_query(django_assert_num_queries):
    thirds()
    with django_assert_num_queries(1):
        assert current_blindspots(now=NOW) == {"left": [], "right": []}


@pytest.mark.parametrize("name", ["MIN_OUTLETS", "WINDOW_DAYS", "RECENT_DAYS"])
def test_settings_below_one_refuse_to_start(tmp_path, name):
    result = run(
        tmp_path,
        "-c",
        "import django; django.setup()",
        DJANGO_SECRET_KEY="x" * 50,
        **{f"NEWSAPP_BLINDSPOT_{name}": "0"},
    )
    assert result.returncode != 0
    assert "NEWSAPP_BLINDSPOT_RECENT_DAYS must be 1 or more" in result.stderr
