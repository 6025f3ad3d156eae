"""The demo newsroom: loaded through the importer, complete, idempotent; bulk stories for benchmarks."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from articles.models import Article, ArticleSource, BiasRating, Category, Source

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(Article.objects.order_by("pk").values_list("slug", "title", "status", "updated_at")),
        list(Source.objects.order_by("pk").values_list("domain", "logo", "bias")),
        ArticleSource.objects.count(),
        list(BiasRating.objects.order_by("pk").values_list("left", "center", "right", "method")),
    )


def news_sitemap_locations(client) -> list[str]:
    root = ET.fromstring(client.get(reverse("articles:news_sitemap")).content)
    return [loc.text for loc in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]


def balance_rows(client) -> dict[str, str]:
    """Section slug -> its "left / center / right" cell on the dashboard ("" when it has none)."""
    html = client.get(reverse("admin:index")).content.decode()
    rows = re.findall(r'<tr id="dashboard-balance-([\w-]+)">(.*?)</tr>', html, re.S)
    return {slug: "".join(re.findall(r"<td>(\d+% / \d+% / \d+%)</td>", row)) for slug, row in rows}


def test_the_demo_newsroom_is_complete_and_loading_it_again_changes_nothing(client, editor_client, capsys):
    # One test on purpose: loading the demo (69 stories with their renditions) takes half a minute.
    call_command("seed_demo")
    published = Article.objects.published()
    assert published.count() >= 60
    for section in Category.objects.all():
        assert published.filter(category=section).count() >= 10, section
    assert Source.objects.exclude(logo="").count() >= 10
    assert Article.objects.filter(status=Article.Status.DRAFT).exists()
    assert Article.objects.scheduled().exists()
    assert published.filter(ai_summary=True).exists() and published.filter(ai_summary=False).exists()
    assert published.exclude(renditions={}).count() == published.count()
    methods = set(BiasRating.objects.values_list("method", flat=True))
    assert methods == {"editorial", "sources"}
    assert BiasRating.objects.values("left", "center", "right").distinct().count() >= 10

    # Dated from today: the newest story went live within the last day, the schedule is ahead.
    now = timezone.now()
    newest = published.latest("published_at").published_at
    assert now - timedelta(hours=26) < newest <= now
    assert Article.objects.scheduled().earliest("published_at").published_at > now + timedelta(days=7)
    assert len(news_sitemap_locations(client)) >= 2
    balance = balance_rows(editor_client)
    assert set(balance) == set(Category.objects.values_list("slug", flat=True))
    assert all(balance.values()), balance  # every section has rated stories this week

    before = snapshot()
    with freeze_time(now + timedelta(days=3, hours=5)):  # a later day: the same dates again
        call_command("seed_demo")
    assert "articles: 0 created, 0 updated" in capsys.readouterr().out
    assert snapshot() == before
    call_command("seed_demo", "--if-empty")  # what make run does: a newsroom that exists is left alone
    assert "already holds stories" in capsys.readouterr().out
    assert snapshot() == before

    home = reverse("articles:home")
    client.get(home)
    call_command("seed_demo", "--articles", "25", "--batch-size", "10")
    assert Article.objects.count() == len(before[0]) + 25
    generated = Article.objects.exclude(slug__in=[row[0] for row in before[0]])
    assert all(story.article_sources.exists() for story in generated)
    # Bulk inserts send no signals: the command itself invalidates the cached pages.
    assert client.get(home)["X-Page-Cache"] == "miss"
