"""The failure drill's editor (bench/drill.py), run in the cluster's environment like any manage.py
command: it publishes and unpublishes stories through the ORM, with the site's own signals (content
version, proxy purges), as the newsdesk's workers and commands do.

    python bench/drill_editor.py TOKEN OPS INTERVAL

It makes drafts titled "Drill TOKEN story NNN" (spread over three sections) and prints one JSON line:
{"event": "ready", "stories": [...]}. After a line "go" on stdin it makes OPS changes, one every
INTERVAL seconds: three publishes, then in turn unpublish the oldest live story and publish the next
draft, so two or three are live at a time. Each change is one transaction; its line says when it
started and when its save returned (time.monotonic(), the same clock in every process of the
machine) and whether it succeeded. Then {"event": "done"}; after a line "cleanup" on stdin it deletes
its stories and exits.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")

import django

django.setup()

from django.db import DatabaseError, transaction  # noqa: E402

from articles.models import Article, Category  # noqa: E402


def say(**event) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def plan(ops: int) -> list[tuple[str, int]]:
    """(publish or unpublish, story number) of each change: P0 P1 P2, then U0 P3 U1 P4 ..."""
    steps, live, following = [], [], 0
    for n in range(ops):
        if n < 2 or n % 2 == 0 or not live:
            steps.append(("publish", following))
            live.append(following)
            following += 1
        else:
            steps.append(("unpublish", live.pop(0)))
    return steps


def make_drafts(token: str, count: int) -> list[Article]:
    newest = list(
        Article.objects.published().order_by("-published_at").values_list("category", flat=True)[:50]
    )
    sections = list(dict.fromkeys(newest))[:3] or list(Category.objects.values_list("pk", flat=True)[:3])
    return [
        Article.objects.create(
            title=f"Drill {token} story {n:03d}",
            slug=f"drill-{token}-{n:03d}",
            category_id=sections[n % len(sections)],
            summary="Written by bench/drill.py, published and unpublished while things break.",
        )
        for n in range(count)
    ]


def change(article: Article, action: str) -> tuple[bool, str]:
    try:
        with transaction.atomic():
            article.status = Article.Status.PUBLISHED if action == "publish" else Article.Status.DRAFT
            article.save()
    except DatabaseError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    token, ops, interval = argv[0], int(argv[1]), float(argv[2])
    steps = plan(ops)
    stories = make_drafts(token, max(n for _, n in steps) + 1)
    say(
        event="ready",
        stories=[
            {
                "n": n,
                "pk": a.pk,
                "title": a.title,
                "path": a.get_absolute_url(),
                "section": a.category.get_absolute_url(),
            }
            for n, a in enumerate(stories)
        ],
    )
    if sys.stdin.readline().strip() != "go":
        return 1
    next_at = time.monotonic()
    for n, (action, story) in enumerate(steps):
        time.sleep(max(0.0, next_at - time.monotonic()))
        started = time.monotonic()
        ok, error = change(stories[story], action)
        say(
            event="op",
            n=n,
            story=story,
            action=action,
            ok=ok,
            error=error,
            start=started,
            end=time.monotonic(),
        )
        next_at += interval
    say(event="done")
    if sys.stdin.readline().strip() == "cleanup":
        Article.objects.filter(pk__in=[a.pk for a in stories]).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
