"""Every test that reads the busy archive (tests/scale/archive.py: 30,000 stories two minutes apart,
so that a 30-day window holds 21,600 of them, and 2,000 outlets), built once for this module: the
balance's and the outlet directory's query counts are those they have at 100 stories."""

import pytest

from tests.coverage.test_balance import check_balance_queries
from tests.coverage.test_balance_pages import check_balance_page_queries
from tests.site.test_outlet_directory import check_directory_queries

# Each xdist worker that runs some of the module builds the archive once: both, with make test's -n auto
# (--dist load); one, with --dist loadgroup.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("busy-month")]


@pytest.fixture(autouse=True)
def uncached(settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0  # every query of a render from scratch
    settings.NEWSAPP_FRAGMENT_CACHE = False


def test_balance_queries_do_not_grow_with_the_archive(busy_month, django_assert_num_queries):
    """tests/coverage/test_balance.py's checks, at 30,000 stories."""
    check_balance_queries(django_assert_num_queries)


def test_balance_page_queries_do_not_grow_with_the_archive(client, busy_month, django_assert_num_queries):
    """tests/coverage/test_balance_pages.py's checks, at 30,000 stories."""
    check_balance_page_queries(client, django_assert_num_queries)


def test_directory_queries_do_not_grow_with_outlets_or_stories(client, busy_month, django_assert_num_queries):
    """tests/site/test_outlet_directory.py's checks, at 2,000 outlets and 30,000 stories."""
    check_directory_queries(client, django_assert_num_queries, n_outlets=2_000, first=busy_month.outlet(0))
