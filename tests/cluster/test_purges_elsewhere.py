"""Purges reach the proxy from processes that are not app servers: an operator's `manage.py
import_articles` and a `manage.py shell` saving through the newsroom's save path. The pages the
proxy kept are up to date on the first read after the command returns. The task workers run with
the proxy's purge address too, so a change they save purges the same way (the purge hangs on the
model signals, not on a view)."""

import json
import time

import pytest

from tests.cluster.cluster import fetch, pids
from tests.cluster.conftest import FIGURES
from tests.cluster.ops import TITLE_PREFIX

pytestmark = pytest.mark.cluster


@pytest.fixture
def cleanup(cluster, token):
    yield
    cluster.ops("remove", token=token)


def cached(url: str) -> None:
    """Read until the proxy serves `url` from its cache."""
    for _ in range(3):
        if fetch(url).headers.get("X-Cache") == "HIT":
            return
    raise AssertionError(f"the proxy does not keep {url}")


def test_a_story_imported_by_manage_py_is_on_the_proxys_pages_at_once(cluster, token, cleanup, tmp_path):
    title = f"{TITLE_PREFIX} {token} imported"
    section = cluster.ops("sections")[-1]
    pages = [f"{cluster.proxy}/", f"{cluster.proxy}/{section}/", f"{cluster.proxy}/{section}/feed/"]
    for url in pages:
        cached(url)
    document = {
        "articles": [
            {
                "title": title,
                "slug": f"cluster-check-{token}-imported",
                "section": section,
                "status": "published",
                "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "summary": "A story imported by the cluster's tests.",
            }
        ]
    }
    path = tmp_path / "story.json"
    path.write_text(json.dumps(document))
    cluster.manage("import_articles", str(path))
    returned = time.monotonic()
    for url in pages:
        answer = fetch(url)
        assert title in answer.text, (
            f"{url} read stale after manage.py import_articles ({answer.headers['X-Cache']})"
        )
    FIGURES.append(
        f"manage.py import_articles: 3 proxy pages up to date {time.monotonic() - returned:.3f} s after"
    )


def test_a_story_retitled_from_manage_py_shell_is_up_to_date_through_the_proxy(cluster, token, cleanup):
    story = cluster.ops("publish_story", token=token, label="live")
    url = f"{cluster.proxy}/{story['section']}/{story['slug']}/"
    cached(url)
    assert story["title"] in fetch(url).text
    new_title = f"{TITLE_PREFIX} {token} retitled"
    cluster.ops("retitle", article_id=story["id"], title=new_title)
    answer = fetch(url)
    assert new_title in answer.text, (
        f"the story's page read stale after the save ({answer.headers['X-Cache']})"
    )
    assert answer.headers["X-Cache"] == "MISS"


def test_the_task_workers_purge_the_same_proxy(cluster):
    workers = {name: pid for name, pid in pids().items() if name.startswith("worker-")}
    assert len(workers) >= 2, workers
    for name, pid in workers.items():
        with open(f"/proc/{pid}/environ", "rb") as environ:
            variables = dict(item.split(b"=", 1) for item in environ.read().split(b"\0") if b"=" in item)
        assert (
            variables.get(b"NEWSAPP_PROXY_PURGE_URLS", b"").decode()
            == cluster.env["NEWSAPP_PROXY_PURGE_URLS"]
        ), name
        assert variables.get(b"NEWSAPP_TASKS_BACKEND") == b"rq", name
