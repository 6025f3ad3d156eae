"""Writes for bench/cluster.py, run in the cluster's environment (var/cluster/env) like any manage.py
command: through the ORM, with the site's own signals (content version, proxy purges).

    python bench/cluster_writer.py state                      -> the pages measured, as JSON
    python bench/cluster_writer.py publish ROUNDS PROXY_PORT  -> publish → purge → visible, per round
    python bench/cluster_writer.py burst SAVES IMPORTED       -> story saves, then an import of drafts

`publish` makes ROUNDS drafts, then for each: the front page is cached by the proxy; a transaction
publishes the draft; when its commit ends (the first on-commit callback, registered before the save),
the clock starts; it stops at the first PURGE answered (any HTTP client of this process, http.client
underneath: requests and urllib3 included), at the save's return and at the first front page fetched
through the proxy that shows the story. Then it is unpublished the same way (until the page no longer
shows it). The drafts are deleted at the end. One JSON document goes to stdout.
"""

import http.client
import json
import os
import secrets
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from articles.models import Article  # noqa: E402

HOST = "127.0.0.1"
PURGES: list[tuple[float, float, int]] = []  # (sent, answered, status) of every PURGE this process made
_lock = threading.Lock()
_putrequest, _getresponse = http.client.HTTPConnection.putrequest, http.client.HTTPConnection.getresponse


def _timed_putrequest(self, method, url, *args, **kwargs):
    self._bench_sent = time.monotonic() if method == "PURGE" else None
    return _putrequest(self, method, url, *args, **kwargs)


def _timed_getresponse(self, *args, **kwargs):
    response = _getresponse(self, *args, **kwargs)
    sent = getattr(self, "_bench_sent", None)
    if sent is not None:
        with _lock:
            PURGES.append((sent, time.monotonic(), response.status))
        self._bench_sent = None
    return response


http.client.HTTPConnection.putrequest = _timed_putrequest
http.client.HTTPConnection.getresponse = _timed_getresponse


def state() -> dict:
    published = Article.objects.published().select_related("category").order_by("-published_at", "-pk")
    stories = list(published.filter(featured=False)[:12])
    if not stories:
        raise SystemExit("cluster_writer: the cluster's database holds no published story")
    article = stories[0]
    return {
        "home": "/",
        "section": article.category.get_absolute_url(),
        "section_id": article.category_id,
        "article": article.get_absolute_url(),
        "article_id": article.pk,
        "articles": [story.get_absolute_url() for story in stories],
        "story_ids": [story.pk for story in stories],
        "stories": Article.objects.count(),
    }


def front_page(conn: http.client.HTTPConnection) -> tuple[bytes, http.client.HTTPMessage]:
    conn.request("GET", "/", headers={"Host": f"{HOST}:{conn.port}"})
    response = conn.getresponse()
    return response.read(), response.headers  # names in any case


def wait_until(conn, wanted: bool, title: bytes, deadline: float) -> tuple[float | None, list[str]]:
    """When the front page through the proxy first shows (or no longer shows) `title`, and how each
    answer until then came (X-Cache / X-Page-Cache, and whether it was the page wanted)."""
    answers = []
    while time.monotonic() < deadline:
        body, headers = front_page(conn)
        done = (title in body) == wanted
        answers.append(
            f"{headers.get('X-Cache', '?')}/{headers.get('X-Page-Cache', '-')}{'' if done else ' (old)'}"
        )
        if done:
            return time.monotonic(), answers
        time.sleep(0.005)
    return None, answers


def change(article: Article, status: str, title: bytes, conn) -> dict:
    """Set the status in a transaction of its own; the times from its commit, in ms."""
    for _ in range(3):  # cached by the proxy (a hit), as a reader would find it
        front_page(conn)
    with _lock:
        before = len(PURGES)
    marks = {}
    with transaction.atomic():
        transaction.on_commit(lambda: marks.setdefault("commit", time.monotonic()))
        article.status = status
        article.save()
    returned = time.monotonic()
    visible, answers = wait_until(conn, status == Article.Status.PUBLISHED, title, returned + 10)
    time.sleep(0.05)  # a purge sent by a thread of its own may answer after the page changed
    with _lock:
        purges = [p for p in PURGES[before:] if p[0] >= marks["commit"]]
    first = min(purges, key=lambda p: p[1]) if purges else None

    def ms(at):
        return None if at is None else round((at - marks["commit"]) * 1000, 2)

    return {
        "purge_answered": ms(first[1]) if first else None,
        "purge_round_trip": round((first[1] - first[0]) * 1000, 2) if first else None,
        "purge_status": first[2] if first else None,
        "purges": len(purges),
        "returned": ms(returned),
        "visible": ms(visible),
        "answers": answers[:3] + (["...", answers[-1]] if len(answers) > 3 else []),
        "fetches": len(answers),
    }


def publish(rounds: int, proxy: int) -> dict:
    token = secrets.token_hex(3)
    newest = Article.objects.published().order_by("-published_at").first()
    drafts = [
        Article.objects.create(
            title=f"Bench purge {token} {n}",
            slug=f"bench-purge-{token}-{n}",
            category_id=newest.category_id,
            summary="Written by bench/cluster.py to time a purge.",
        )
        for n in range(rounds)
    ]
    conn = http.client.HTTPConnection(HOST, proxy, timeout=10)
    results = []
    try:
        time.sleep(2.5)  # past the drafts' own purges and re-purges
        for draft in drafts:
            title = draft.title.encode()
            results.append({"publish": change(draft, Article.Status.PUBLISHED, title, conn)})
            results[-1]["unpublish"] = change(draft, Article.Status.DRAFT, title, conn)
            time.sleep(2.5)  # NEWSAPP_PROXY_REPURGE_SECONDS: the next round starts without a re-purge due
    finally:
        Article.objects.filter(pk__in=[draft.pk for draft in drafts]).delete()
        conn.close()
    return {"rounds": results}


def burst(saves: int, imported: int) -> dict:
    """SAVES saves of live stories, one transaction each; then IMPORTED drafts written in one
    transaction (an archive import), removed again. Times on time.monotonic(), which every process of
    the machine shares, so the sampler can cut its samples at them."""
    pks = list(Article.objects.published().order_by("-published_at").values_list("pk", flat=True)[:200])
    started = time.monotonic()
    for n in range(saves):
        article = Article.objects.get(pk=pks[n % len(pks)])
        article.save()  # every field written back, as the admin's form does; signals and purges
    saved = time.monotonic()
    token, text = secrets.token_hex(3), "Imported by bench/cluster.py to load the replica. " * 20
    section = Article.objects.values_list("category", flat=True).first()
    with transaction.atomic():
        Article.objects.bulk_create(
            [
                Article(
                    title=f"Bench import {token} {n}",
                    slug=f"bench-import-{token}-{n}",
                    category_id=section,
                    summary=text,
                    summary_html=f"<p>{text}</p>",
                    excerpt=text[:300],
                )
                for n in range(imported)
            ],
            batch_size=1000,
        )
    done = time.monotonic()
    # Drafts no reader ever saw: removed in one statement, without the signals a queryset's delete
    # sends for each row (a content version bump and a purge for each of them).
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM articles_article WHERE slug LIKE %s", [f"bench-import-{token}-%"])
    return {
        "saves": saves,
        "saves_started": started,
        "saves_ended": saved,
        "imported": imported,
        "import_ended": done,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["state"]:
        result = state()
    elif argv[:1] == ["publish"] and len(argv) == 3:
        result = publish(int(argv[1]), int(argv[2]))
    elif argv[:1] == ["burst"] and len(argv) == 3:
        result = burst(int(argv[1]), int(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
