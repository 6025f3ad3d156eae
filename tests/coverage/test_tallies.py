"""Voices per section and local day (coverage.tallies), counted over live stories only."""

from datetime import date

import pytest

from coverage.tallies import Tally, daily_tallies, sum_tallies
from tests.coverage.newsroom import story, utc
from tests.factories import CategoryFactory

SINCE, UNTIL = utc(2025, 6, 1), utc(2025, 7, 1)


def test_tally_arithmetic():
    tally = Tally(stories=3, left=2, center=5, right=3)
    assert tally.rated == 10
    assert tally.share("left") == 0.2
    assert tally.share("center") == 0.5
    assert tally.share("right") == 0.3
    assert Tally(stories=4).share("left") is None
    with pytest.raises(ValueError, match="side must be one of"):
        tally.share("lean_left")


def test_sum_tallies():
    assert sum_tallies([]) == Tally(stories=0, left=0, center=0, right=0)
    total = sum_tallies(iter([Tally(1, 1, 2, 3), Tally(2, 10, 20, 30), Tally(5, 0, 0, 0)]))
    assert total == Tally(stories=8, left=11, center=22, right=33)


@pytest.mark.django_db
def test_sums_per_section_and_day_in_one_query(django_assert_num_queries):
    world, politics = CategoryFactory(slug="world"), CategoryFactory(slug="politics")
    story(at=utc(2025, 6, 10, 9), left=2, center=3, right=1)
    story(at=utc(2025, 6, 10, 15), left=1, center=0, right=4)
    story(at=utc(2025, 6, 11, 9), left=0, center=2, right=0)
    story(section="politics", at=utc(2025, 6, 10, 12), left=5, center=1, right=1)
    story(at=utc(2025, 6, 10, 16), rated=False)  # a story, no voices
    with django_assert_num_queries(1):
        tallies = daily_tallies(since=SINCE, until=UNTIL)
    assert tallies == {
        (world.pk, date(2025, 6, 10)): Tally(stories=3, left=3, center=3, right=5),
        (world.pk, date(2025, 6, 11)): Tally(stories=1, left=0, center=2, right=0),
        (politics.pk, date(2025, 6, 10)): Tally(stories=1, left=5, center=1, right=1),
    }


@pytest.mark.django_db
def test_the_day_is_the_sites_local_date(settings):
    assert settings.TIME_ZONE == "Europe/London"  # British Summer Time in June: UTC+1
    world = CategoryFactory(slug="world")
    story(at=utc(2025, 6, 10, 23, 30), left=1)  # 00:30 on the 11th in London
    story(at=utc(2025, 6, 10, 22, 59), right=1)  # 23:59 on the 10th
    tallies = daily_tallies(since=SINCE, until=UNTIL)
    assert tallies == {
        (world.pk, date(2025, 6, 10)): Tally(stories=1, right=1),
        (world.pk, date(2025, 6, 11)): Tally(stories=1, left=1),
    }


@pytest.mark.django_db
def test_only_live_stories_count():
    world = CategoryFactory(slug="world")
    story(at=utc(2025, 6, 10, 9), left=1)
    story(at=utc(2025, 6, 10, 9), left=10, unpublished=True)  # was live, set back to draft
    story(left=100, draft=True)
    story(right=7, scheduled=True)  # tomorrow
    everything = daily_tallies(since=utc(2000, 1, 1), until=utc(2100, 1, 1))
    assert everything == {(world.pk, date(2025, 6, 10)): Tally(stories=1, left=1)}


@pytest.mark.django_db
def test_since_is_included_until_is_not():
    world = CategoryFactory(slug="world")
    story(at=SINCE, left=1)
    story(at=UNTIL, right=1)
    assert daily_tallies(since=SINCE, until=UNTIL) == {(world.pk, date(2025, 6, 1)): Tally(stories=1, left=1)}


@pytest.mark.django_db
def test_section_ids_narrow_the_count():
    world, politics = CategoryFactory(slug="world"), CategoryFactory(slug="politics")
    story(at=utc(2025, 6, 10, 9), left=1)
    story(section="politics", at=utc(2025, 6, 10, 9), right=2)
    assert daily_tallies(since=SINCE, until=UNTIL, section_ids=iter([politics.pk])) == {
        (politics.pk, date(2025, 6, 10)): Tally(stories=1, right=2)
    }
    assert daily_tallies(since=SINCE, until=UNTIL, section_ids=[]) == {}
    assert set(daily_tallies(since=SINCE, until=UNTIL, section_ids=[world.pk, politics.pk])) == {
        (world.pk, date(2025, 6, 10)),
        (politics.pk, date(2025, 6, 10)),
    }
