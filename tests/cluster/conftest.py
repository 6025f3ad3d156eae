"""Tests against the running cluster of `make cluster` (make test-cluster starts it, runs these and
stops it). Marked `cluster`, so make test and make test-postgres leave them out; when the cluster is
not up they fail, saying so: a test here that skipped would prove nothing."""

import pytest

from tests.cluster.cluster import Cluster, ClusterDown

# What the tests measured, printed at the end of the run (pytest_terminal_summary).
FIGURES: list[str] = []


def pytest_collection_modifyitems(config, items):
    """`make cluster-stop`'s test stops the cluster: it goes last, whatever the order asked for."""
    items.sort(key=lambda item: item.get_closest_marker("stops_cluster") is not None)


def pytest_configure(config):
    config.addinivalue_line("markers", "stops_cluster: stops the cluster (run last)")


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("the cluster's figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    try:
        return Cluster()
    except ClusterDown as exc:
        pytest.fail(
            f"{exc}. These tests run against the cluster: make test-cluster (as root).", pytrace=False
        )


@pytest.fixture
def token(request) -> str:
    """A word of this test's own for the titles of the stories it makes."""
    import secrets

    return secrets.token_hex(3)
