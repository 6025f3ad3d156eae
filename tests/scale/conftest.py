"""The scale tests' two archives of 30,000 stories, each built once a module (tests/scale/archive.py)
and read by that module's tests: test_ten_years.py and test_busy_month.py."""

import pytest

from tests.scale.archive import EVERY_THREE_HOURS, EVERY_TWO_MINUTES, shared_archive


@pytest.fixture(scope="module")
def ten_years(django_db_setup, django_db_blocker):
    """30,000 stories three hours apart and 10,000 outlets."""
    yield from shared_archive(django_db_blocker, stories=30_000, spacing=EVERY_THREE_HOURS, outlets=10_000)


@pytest.fixture(scope="module")
def busy_month(django_db_setup, django_db_blocker):
    """30,000 stories two minutes apart and 2,000 outlets."""
    yield from shared_archive(django_db_blocker, stories=30_000, spacing=EVERY_TWO_MINUTES, outlets=2_000)
