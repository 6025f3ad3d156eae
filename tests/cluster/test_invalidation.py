"""Issue 14, point 2: an editor publishes a story through app server A (the admin's publish action,
signed in with the password, CSRF and all); readers through the proxy and through app server B
see it on the front page, its section page and its section's RSS feed within a second, and no
read made after the publish returned still lacks it; unpublished, it is gone from all six the same
way. 50 rounds, a new story each, the sections in turn."""

import statistics
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

from tests.cluster.cluster import fetch
from tests.cluster.conftest import FIGURES

pytestmark = pytest.mark.cluster

ROUNDS = 50
WITHIN = 1.0  # seconds after the write returned


def pages(story: dict) -> list[str]:
    return ["/", f"/{story['section']}/", f"/{story['section']}/feed/"]


def watch(url: str, title: str, *, shown: bool, since: float) -> dict:
    """Read `url` until the story's title is there (shown) or gone (not shown), for WITHIN seconds
    after `since`: how many reads still had the old state, and when the first new one came."""
    stale = 0
    while True:
        answer = fetch(url)
        if answer.status != 200:
            return {"url": url, "stale": stale, "delay": None, "error": f"{answer.status}"}
        if (title in answer.text) == shown:
            return {"url": url, "stale": stale, "delay": answer.at - since, "error": None}
        stale += 1
        if answer.at - since > WITHIN:
            return {"url": url, "stale": stale, "delay": None, "error": "still old after 1 s"}


def change(editor, token: str, action: str, story: dict) -> float:
    """The admin's action on the story (publish_selected, unpublish_selected), as the changelist's
    form posts it (`token`: its CSRF token); returns when the answer came (time.monotonic())."""
    answer = editor.post(
        "/admin/articles/article/",
        [
            ("csrfmiddlewaretoken", token),
            ("action", action),
            ("select_across", "0"),
            ("index", "0"),
            ("_selected_action", str(story["id"])),
        ],
    )
    assert answer.status == 302, f"{action} of {story['title']}: {answer.status}\n{answer.text[:1500]}"
    return answer.at


@pytest.fixture
def drafts(cluster, token):
    made = cluster.ops("make_drafts", token=token, count=ROUNDS)
    yield made
    cluster.ops("remove", token=token)


def test_publish_and_unpublish_reach_the_proxy_and_the_other_app_server_at_once(cluster, drafts):
    app_a, app_b = cluster.apps
    editor = cluster.signed_in_editor(app_a)
    # The changelist's form, loaded once as in a browser's tab; each action posts it again.
    token = editor.csrf_token("/admin/articles/article/")
    readers = [cluster.proxy, app_b]
    results = []
    with ThreadPoolExecutor(max_workers=6) as pool:
        for story in drafts:
            urls = [reader + page for reader in readers for page in pages(story)]
            # Every page read (and so kept by the proxy and B) before the story is out.
            for url in urls:
                assert story["title"] not in fetch(url).text, (
                    f"{story['title']} on {url} before it was published"
                )
            for action, shown in (("publish_selected", True), ("unpublish_selected", False)):
                since = change(editor, token, action, story)
                check = partial(watch, title=story["title"], shown=shown, since=since)
                watched = list(pool.map(check, urls))
                results += [{**outcome, "action": action, "story": story["title"]} for outcome in watched]

    late = [r for r in results if r["error"]]
    stale = [r for r in results if r["stale"]]
    delays = [r["delay"] for r in results if r["delay"] is not None]
    where = Counter(f"{r['url']} after {r['action'].split('_')[0]}" for r in stale)
    FIGURES.append(
        f"invalidation: {ROUNDS} rounds x publish + unpublish x 6 pages (proxy and app server B): "
        f"{len(results)} watches, {sum(r['stale'] for r in results)} stale reads in {len(stale)} of them, "
        f"max delay {max(delays) * 1000:.0f} ms, median {statistics.median(delays) * 1000:.0f} ms"
        + (f"; stale: {dict(where)}" if where else "")
    )
    assert not late, f"{len(late)} pages not up to date within {WITHIN} s: {late[:10]}"
    assert not stale, f"{len(stale)} pages read stale after the write returned: {stale[:10]}"
