"""What the cluster's tests do to the newsroom outside any app server: run by `manage.py shell -c`
in the cluster's environment (tests/cluster/cluster.py: Cluster.ops), as an operator's command or
a script would. Each function prints one line of JSON, the last of the command's output.

Stories are written through the newsroom's one save path (article_save) as the demo Editor; every
title starts with TITLE_PREFIX, so the tests can remove what they made."""

import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from articles.models import Article, Category
from articles.newsroom.stories import article_save

TITLE_PREFIX = "Cluster check"


def _editor():
    return get_user_model().objects.get(username="editor")


def _said(value) -> None:
    print(json.dumps(value))


def _story(article: Article) -> dict:
    return {
        "id": article.pk,
        "title": article.title,
        "slug": article.slug,
        "section": article.category.slug,
        "published_at": article.published_at.timestamp() if article.published_at else None,
    }


def sections() -> None:
    _said(list(Category.objects.order_by("pk").values_list("slug", flat=True)))


def make_drafts(*, token: str, count: int) -> None:
    """`count` drafts, one section after another, titled `Cluster check TOKEN N`."""
    sections = list(Category.objects.order_by("pk"))
    made = []
    for number in range(count):
        title = f"{TITLE_PREFIX} {token} {number}"
        article = Article(
            title=title,
            slug=f"cluster-check-{token}-{number}",
            category=sections[number % len(sections)],
            summary=f"A story the cluster's tests publish and unpublish ({token}, {number}).",
        )
        article_save(article=article, user=_editor(), comment="Made by the cluster's tests.")
        made.append(_story(article))
    _said(made)


def _save_live_story(*, token: str, label: str, seconds: float, verb: str) -> None:
    """A published story in the first section, live `seconds` from now, saved now."""
    article = Article(
        title=f"{TITLE_PREFIX} {token} {label}",
        slug=f"cluster-check-{token}-{label}",
        category=Category.objects.order_by("pk").first(),
        summary=f"A story the cluster's tests {verb.lower()} from a management command.",
        status=Article.Status.PUBLISHED,
        published_at=timezone.now() + timedelta(seconds=seconds),
    )
    article_save(article=article, user=_editor(), comment=f"{verb} by the cluster's tests.")
    _said(_story(article))


def schedule_story(*, token: str, seconds: float) -> None:
    """A story published `seconds` from now (scheduled), saved now."""
    _save_live_story(token=token, label="scheduled", seconds=seconds, verb="Scheduled")


def publish_story(*, token: str, label: str) -> None:
    """A story live now, in the first section."""
    _save_live_story(token=token, label=label, seconds=0, verb="Published")


def retitle(*, article_id: int, title: str) -> None:
    article = Article.objects.get(pk=article_id)
    article.title = title
    article_save(
        article=article, user=_editor(), comment="Retitled by the cluster's tests.", content_changed=True
    )
    _said(_story(article))


def remove(*, token: str) -> None:
    """Delete the stories a test made (their purges go out as for any delete)."""
    deleted, _ = Article.objects.filter(title__startswith=f"{TITLE_PREFIX} {token}").delete()
    _said({"deleted": deleted})
