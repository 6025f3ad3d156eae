"""Every door into a story runs the same steps after the save (articles.newsroom.stories.article_save):
the computed rating, the search vector, the "Updated" time of a live story whose content changed,
one revision, and the content version that cached pages are kept under."""

import json

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from reversion.models import Version

from articles import search_index
from articles.models import Article, BiasRating, Source
from articles.newsroom import stories
from articles.newsroom.corrections import correction_add
from articles.newsroom.revisions.restore import article_restore
from articles.site.cache.content_version import VERSION_KEY
from tests.admin.test_admin import browser_post
from tests.factories import ArticleFactory, ArticleSourceFactory, CategoryFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(editor):
    """A live story citing a left and a right outlet, saved once through the save path (so it has a
    revision to restore), then given stale derived data that only the after-save steps put right."""
    story = ArticleFactory(
        title="Harbour talks resume", slug="harbour-talks", category=CategoryFactory(slug="world")
    )
    ArticleSourceFactory(article=story, source=SourceFactory(bias=Source.Lean.LEFT, domain="left.example"))
    ArticleSourceFactory(article=story, source=SourceFactory(bias=Source.Lean.RIGHT, domain="right.example"))
    stories.article_save(article=Article.objects.get(pk=story.pk), user=editor, comment="First save.")
    stale(story)
    return Article.objects.get(pk=story.pk)


def stale(story):
    BiasRating.objects.filter(article=story).update(left=0, center=100, right=0)
    Article.objects.filter(pk=story.pk).update(modified_at=None)


@pytest.fixture
def refreshed(monkeypatch):
    """The ids each search-vector refresh was asked for (SQLite has no vectors to look at)."""
    seen = []
    real = search_index.refresh

    def spy(ids):
        seen.extend(ids if isinstance(ids, list) else list(ids.values_list("pk", flat=True)))
        real(ids)

    monkeypatch.setattr(search_index, "refresh", spy)
    return seen


def through_the_form(story, editor_client, editor):
    url = reverse("admin:articles_article_change", args=[story.pk])
    assert browser_post(editor_client, url, title="Harbour talks resume at dawn").status_code == 302


def through_bulk_unpublish(story, editor_client, editor):
    changelist = reverse("admin:articles_article_changelist")
    data = {"action": "unpublish_selected", "_selected_action": [story.pk]}
    assert editor_client.post(changelist, data).status_code == 302


def through_the_importer(story, editor_client, editor, tmp_path):
    document = {
        "articles": [
            {
                "title": "Harbour talks resume at dawn",
                "slug": "harbour-talks",
                "section": "world",
                "status": "published",
                "published_at": story.published_at.isoformat(),
                "summary": story.summary,
                "sources": [
                    {"domain": c.source.domain, "url": c.url, "title": c.title, "position": c.position}
                    for c in story.article_sources.select_related("source")
                ],
            }
        ]
    }
    path = tmp_path / "import.json"
    path.write_text(json.dumps(document))
    call_command("import_articles", str(path), verbosity=0)


def through_a_restore(story, editor_client, editor):
    story.title = "A title to undo"
    stories.article_save(article=story, user=editor, comment="Retitled.", content_changed=True)
    stale(story)
    first = Version.objects.get_for_object(story).order_by("pk").first()
    article_restore(
        article=story, version=first, user=editor, lock_version=Article.objects.get(pk=story.pk).lock_version
    )


def through_a_correction(story, editor_client, editor):
    correction_add(article=story, note="The talks resumed at dawn, not at noon.", user=editor)


ENTRY_POINTS = {
    "admin form": (through_the_form, True),
    "bulk unpublish": (through_bulk_unpublish, False),  # no content changed: no "Updated" time
    "importer": (through_the_importer, True),
    "restore": (through_a_restore, True),
    "correction": (through_a_correction, True),
}


@pytest.mark.parametrize("door", ENTRY_POINTS)
def test_every_entry_point_runs_the_same_steps(door, live, editor_client, editor, refreshed, tmp_path):
    enter, modifies = ENTRY_POINTS[door]
    revisions_before = Version.objects.get_for_object(live).count()
    lock_before = live.lock_version
    counter_before = cache.get(VERSION_KEY)
    kwargs = {"tmp_path": tmp_path} if door == "importer" else {}
    enter(live, editor_client, editor, **kwargs)

    story = Article.objects.select_related("bias_rating").get(pk=live.pk)
    rating = story.bias_rating
    assert (rating.method, rating.left, rating.center, rating.right) == ("sources", 50, 0, 50), door
    assert story.pk in refreshed, f"{door}: the search vector was not rewritten"
    if search_index.is_postgres():
        from django.contrib.postgres.search import SearchQuery

        matching = Article.objects.filter(pk=story.pk, search_vector=SearchQuery("harbour", config="english"))
        assert matching.exists(), door
    assert (story.modified_at is not None) == modifies, door
    assert Version.objects.get_for_object(story).count() > revisions_before, f"{door}: no revision"
    assert story.lock_version > lock_before, f"{door}: the lock number did not move"
    assert cache.get(VERSION_KEY) != counter_before, f"{door}: the content version did not move"
