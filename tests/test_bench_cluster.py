"""The rules `make drill` and `make bench-cluster` judge by (bench/drill_clients.py, bench/cluster_purge.py,
bench/cluster_setup.py), on made-up timelines: no cluster needed."""

import pytest

from bench.cluster_purge import dip
from bench.cluster_setup import Cluster, read_env
from bench.drill_clients import Ledger, Op, Read, expected, judge, phase_of
from bench.drill_editor import plan
from bench.lib.processes import BenchError

PUBLISHED_THEN_UNPUBLISHED = [Op(1, "publish", True, 10.0, 10.2), Op(1, "unpublish", True, 14.0, 14.1)]


@pytest.mark.parametrize(
    ("start", "end", "wanted"),
    [
        (5.0, 5.1, False),  # a draft yet
        (10.1, 10.3, None),  # during the publish
        (11.1, 11.2, None),  # within a second of it returning
        (11.3, 11.4, True),
        (13.9, 14.05, None),  # the unpublish began before the read ended
        (15.2, 15.3, False),
    ],
)
def test_a_read_is_judged_only_out_of_reach_of_every_change(start, end, wanted):
    assert expected(PUBLISHED_THEN_UNPUBLISHED, start, end) is wanted


def test_after_a_change_that_failed_nothing_is_judged():
    ops = [Op(1, "publish", True, 1.0, 1.1), Op(1, "unpublish", False, 3.0, 3.1, "OperationalError")]
    assert expected(ops, 2.5, 2.6) is True
    assert expected(ops, 9.0, 9.1) is None


def drill_ledger(*reads: Read) -> Ledger:
    ledger = Ledger("abc123")
    ledger.stories = {1: {"section": "/world/", "path": "/world/drill-abc123-001/"}}
    ledger.ops = list(PUBLISHED_THEN_UNPUBLISHED)
    ledger.reads = list(reads)
    return ledger


def test_stale_reads_missing_and_shown_and_their_pages():
    page = "/world/drill-abc123-001/"
    ledger = drill_ledger(
        Read(11.5, 11.6, "/", "home", 200, "HIT", frozenset()),
        Read(11.5, 11.6, "/feed/", "feed", 200, "HIT", frozenset({1})),
        Read(15.5, 15.6, "/world/", "section", 200, "MISS", frozenset({1})),
        Read(15.5, 15.6, "/sport/", "section", 200, "MISS", frozenset({1})),  # not the story's section
        Read(12.5, 12.6, page, "story", 404, "MISS", story=1),
        Read(15.5, 15.6, page, "story", 200, "HIT", story=1),
        Read(16.5, 16.6, page, "story", 404, "MISS", story=1),
    )
    verdict = judge(ledger)
    assert [(read.path, what) for read, _, what, _ in verdict.stale] == [
        ("/", "missing after its publish"),
        ("/world/", "still shown after its unpublish"),
        (page, "answers 404 after its publish"),
        (page, "still answers 200 after its unpublish"),
    ]
    assert verdict.failures == []
    assert verdict.judged == 6
    assert verdict.stale[0][3] == pytest.approx(1.3)  # seconds since the publish returned


def test_errors_are_failures_but_a_404_during_a_change_is_not():
    ledger = drill_ledger(
        Read(10.1, 10.3, "/world/drill-abc123-001/", "story", 404, "MISS", story=1),
        Read(12.0, 12.1, "/world/other/", "other", 503, "MISS", detail="Backend fetch failed"),
        Read(12.0, 12.1, "/", "home", None, detail="ConnectionRefusedError"),
        Read(12.0, 12.1, "/world/other/", "other", 404, "MISS"),
    )
    assert [read.status for read in judge(ledger).failures] == [503, None, 404]


def test_the_drill_stories_are_found_by_their_own_titles():
    ledger = Ledger("abc123")
    body = b"<h2>Drill abc123 story 001</h2> Drill abc123 story 12 Drill xyz story 002 Drill abc123 story 010"
    assert [int(n) for n in ledger.pattern.findall(body)] == [1, 10]


def test_phases_and_the_editors_plan():
    events = [(10.0, "app killed"), (20.0, "app back")]
    assert [phase_of(events, at) for at in (5, 10, 15, 25)] == [
        "steady",
        "app killed",
        "app killed",
        "app back",
    ]
    steps = plan(8)
    assert steps[:4] == [("publish", 0), ("publish", 1), ("publish", 2), ("unpublish", 0)]
    live = set()
    for action, story in steps:
        assert (story in live) == (action == "unpublish")  # only a live story is unpublished, once
        live ^= {story}
        assert 1 <= len(live) <= 3


def test_a_purges_dip_from_every_answer():
    """1000 answers a second, 0.01 s each, 1 in 100 from an app server; for the half second after a
    purge at 5 s, 300 a second, each from an app server and 0.1 s long."""
    records, at = [], 0.0
    while at < 12:
        slow = 5 <= at < 5.5
        records.append((at, 0.1 if slow else 0.01, 1.0 if slow or round(at * 1000) % 100 == 0 else 0.0, 1.0))
        at += 1 / 300 if slow else 1 / 1000
    found = dip(records, 5.0)
    assert found["baseline_rps"] == pytest.approx(1000, rel=0.02)
    assert found["lowest_rps"] < 400
    assert found["dip"] > 0.6
    assert found["recovered_s"] == pytest.approx(0.75)  # the answers begun before 5.5 s end by 5.6 s
    assert found["extra_fetches"] == pytest.approx(150, abs=10)
    assert found["p99_before_ms"] == pytest.approx(10)
    assert found["p99_after_ms"] == pytest.approx(100)
    assert found["errors"] == 0
    assert dip(records, 0.5) == {}  # nothing before: no baseline


def test_the_cluster_env_file_and_its_database_urls(tmp_path):
    env = tmp_path / "env"
    env.write_text(
        "# comment\n\nA=1\nexport B='two words'\nC=\nDATABASE_URL=postgres://u:p%40w@h:6432/db?x=True\n"
    )
    values = read_env(env)
    assert values == {
        "A": "1",
        "B": "two words",
        "C": "",
        "DATABASE_URL": "postgres://u:p%40w@h:6432/db?x=True",
    }
    urls = {
        "proxy": "http://127.0.0.1:6081",
        "apps": ["http://127.0.0.1:8101", "http://127.0.0.1:8102"],
        "purge": ["http://127.0.0.1:6082/"],
        "primary": "postgres://127.0.0.1:5432/newsapp_cluster",
        "replica": "postgres://127.0.0.1:5433/newsapp_cluster",
    }
    cluster = Cluster(urls, values)
    assert (cluster.proxy, cluster.apps, cluster.purge) == (6081, [8101, 8102], 6082)
    # The servers themselves, never PgBouncer's port, with the env's credentials and no query.
    assert cluster.database_url("primary") == "postgresql://u:p%40w@127.0.0.1:5432/newsapp_cluster"
    assert cluster.database_url("replica") == "postgresql://u:p%40w@127.0.0.1:5433/newsapp_cluster"
    env.write_text("NOT A LINE\n")
    with pytest.raises(BenchError, match="not a KEY=value line"):
        read_env(env)
