"""Revisions keep a source's wire-copy mark: recorded with the story, shown in the History page's
differences, brought back by a restore (and read as unmarked from revisions made before the mark)."""

import json
import re

import pytest
from django.urls import reverse
from reversion.models import Version

from articles.models import Article, ArticleSource, BiasRating
from articles.newsroom.revisions import record as revisions
from tests.admin.test_admin import ADD, browser_post, citations, story
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def history_text(client, article) -> str:
    html = client.get(reverse("admin:articles_article_history", args=[article.pk])).content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def restore_url(article, version):
    return reverse("admin:articles_article_history_restore", args=[article.pk, version.pk])


def versions_of(article):
    return list(Version.objects.get_for_object(article).order_by("pk"))


def marks(article) -> dict[str, bool]:
    return dict(ArticleSource.objects.filter(article=article).values_list("url", "wire_copy"))


def computed(article) -> tuple[int, int, int]:
    rating = BiasRating.objects.get(article=article)
    return rating.left, rating.center, rating.right


@pytest.fixture
def marked(editor_client):
    """A draft citing a center and a left outlet (two revisions): then the left one marked a copy."""
    gazette = SourceFactory(name="Harbour Gazette", domain="gazette.example", bias="center")
    daily = SourceFactory(name="Dockside Daily", domain="daily.example", bias="left")
    response = browser_post(editor_client, ADD, **story(), **citations(gazette, daily))
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(slug="talks-resume")
    assert computed(article) == (50, 50, 0)
    response = browser_post(editor_client, change_url(article), article_sources__1__wire_copy="on")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert marks(article) == {"https://gazette.example/story-0": False, "https://daily.example/story-1": True}
    assert computed(article) == (0, 100, 0)
    return article


def test_each_revision_records_the_mark(marked):
    first, second = versions_of(marked)
    for version, expected in ((first, False), (second, True)):
        sources = revisions.snapshots_of([version], marked.pk)[version.pk].sources
        assert {row["url"]: row["wire_copy"] for row in sources}["https://daily.example/story-1"] is expected


def test_the_history_says_a_source_was_marked_a_wire_copy(editor_client, marked):
    text = history_text(editor_client, marked)
    assert (
        "Changed: Dockside Daily — https://daily.example/story-1 (“Headline 1”): marked a wire copy" in text
    )
    # Unmarked again, and a copy added in the same save.
    courier = SourceFactory(name="Quay Courier", domain="courier.example", bias="right")
    rows = {k.replace("__0__", "__2__"): v for k, v in citations(courier).items() if "TOTAL" not in k}
    response = browser_post(
        editor_client,
        change_url(marked),
        article_sources__1__wire_copy=None,
        article_sources__TOTAL_FORMS="3",
        article_sources__2__wire_copy="on",
        **rows,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    text = history_text(editor_client, marked)
    assert "(“Headline 1”): no longer marked a wire copy" in text
    assert "Added: Quay Courier — https://courier.example/story-0 (“Headline 0”): marked a wire copy" in text


def test_a_restore_brings_the_mark_back_with_the_bar_it_made(editor_client, marked):
    first, second = versions_of(marked)
    page = " ".join(
        re.sub(r"<[^>]+>", " ", editor_client.get(restore_url(marked, first)).content.decode()).split()
    )
    assert "no longer marked a wire copy" in page  # what restoring will change
    response = browser_post(editor_client, restore_url(marked, first), form_id="restore-form")
    assert response.status_code == 302
    assert marks(marked)["https://daily.example/story-1"] is False
    assert computed(marked) == (50, 50, 0)
    response = browser_post(editor_client, restore_url(marked, second), form_id="restore-form")
    assert response.status_code == 302
    assert marks(marked)["https://daily.example/story-1"] is True
    assert computed(marked) == (0, 100, 0)


def test_a_revision_recorded_before_the_mark_existed_reads_as_unmarked(editor_client, marked):
    second = versions_of(marked)[1]
    for version in second.revision.version_set.filter(content_type__model="articlesource"):
        data = json.loads(version.serialized_data)
        del data[0]["fields"]["wire_copy"]
        version.serialized_data = json.dumps(data)
        version.save()
    sources = revisions.snapshots_of([second], marked.pk)[second.pk].sources
    assert [row["wire_copy"] for row in sources] == [False, False]
    # And a restore of it unmarks the copy.
    response = browser_post(editor_client, restore_url(marked, second), form_id="restore-form")
    assert response.status_code == 302
    assert not ArticleSource.objects.filter(article=marked, wire_copy=True).exists()
