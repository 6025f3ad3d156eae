"""The content version: the cache's counter for instant invalidation, the database's count as the
truth, so a change made where the cache could not see it still reaches every page."""

import time

import pytest
from django.db import OperationalError, transaction
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, ContentVersion
from articles.site.cache import content_version
from tests.factories import ArticleFactory, CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def story():
    return ArticleFactory(category=CategoryFactory(slug="world"), title="Harbour talks resume")


def stored_version() -> int:
    # The row comes from a data migration; tests that commit get it back by serialized_rollback
    # (every such test must ask for it, or one's flush and another's restore collide).
    return ContentVersion.objects.get_or_create(pk=1)[0].version


def another_process_changes(story, title):
    """What a shell, an import or another app server with a cache of its own does: the row
    changes and the database's count moves, but nothing reaches this process's cache."""
    Article.objects.filter(pk=story.pk).update(title=title, updated_at=timezone.now())
    # Past what this process last read too (that value outlives the test that read it).
    newer = max(stored_version(), content_version.stored.value) + 1
    ContentVersion.objects.update_or_create(pk=1, defaults={"version": newer})


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_committed_change_is_counted_once_in_the_database():
    before = stored_version()
    with transaction.atomic():
        story = ArticleFactory(title="Counted once")
        story.title = "Counted once, saved twice"
        story.save()
    assert stored_version() == before + 1
    story.delete()
    assert stored_version() == before + 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_change_is_not_counted():
    before = stored_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        ArticleFactory(title="Never committed")
        raise RuntimeError("abandon")
    assert stored_version() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_savepoint_rolled_back_keeps_the_bump_of_the_outer_change():
    before = stored_version()
    with transaction.atomic():
        ArticleFactory(title="Kept")
        try:
            with transaction.atomic():
                ArticleFactory(title="Dropped")
                raise RuntimeError("inner")
        except RuntimeError:
            pass
    assert stored_version() == before + 1


def test_a_change_from_a_process_with_its_own_cache_shows_on_the_next_load(client, story, settings):
    settings.NEWSAPP_CONTENT_VERSION_CHECK = 0  # the development server's default
    url = reverse("articles:home")
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    another_process_changes(story, "Changed in a shell")
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert b"Changed in a shell" in response.content


def test_between_reads_the_cache_counter_alone_decides(client, story, settings, django_assert_num_queries):
    settings.NEWSAPP_CONTENT_VERSION_CHECK = 3600
    url = reverse("articles:home")
    client.get(url)
    another_process_changes(story, "Not seen until the next read")
    with django_assert_num_queries(0):
        assert client.get(url)["X-Page-Cache"] == "hit"
    content_version.stored.read_at -= 3600  # the interval has passed
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss" and b"Not seen until the next read" in response.content


def test_an_unreachable_database_leaves_cached_pages_served(client, story, settings, monkeypatch):
    settings.NEWSAPP_CONTENT_VERSION_CHECK = 0
    url = reverse("articles:home")
    client.get(url)

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(content_version, "read_stored_version", refuse)
    assert client.get(url)["X-Page-Cache"] == "hit"
    # One failed read holds off the next for a few seconds: an outage is not a connection per request.
    assert content_version.stored.retry_at > time.monotonic()
