"""The front page's lists from one compiled query match what the ORM's own querysets give."""

from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Article
from articles.site.cache import listings
from tests.factories import ArticleFactory, BiasRatingFactory, CategoryFactory

pytestmark = pytest.mark.django_db


def orm_pks(now, limit, **filters):
    stories = Article.objects.published(now=now).filter(**filters).order_by("-published_at", "-pk")
    return [story.pk for story in stories[:limit]]


@pytest.fixture
def newsroom():
    sections = [CategoryFactory(slug=slug) for slug in ("world", "politics", "crypto")]
    start = timezone.now() - timedelta(days=3)
    for i in range(30):
        story = ArticleFactory(
            category=sections[i % 3],
            published_at=start + timedelta(hours=i // 2),  # pairs share a time: the pk breaks the tie
            featured=i in (4, 9),
        )
        if i % 3:
            BiasRatingFactory(article=story, left=10 + i, center=80 - i, right=10)
    ArticleFactory(draft=True, category=sections[0])
    ArticleFactory(scheduled=True, category=sections[1], published_at=timezone.now() + timedelta(hours=2))
    return sections


def spec(sections):
    return [
        ("featured", 1, {"featured": True}),
        ("latest", 7, {}),
        *((f"s{c.pk}", 3, {"category_id": c.pk}) for c in sections),
    ]


@pytest.mark.parametrize("hours_ahead", [0, 3], ids=["now", "after-the-scheduled-time"])
def test_lists_match_the_orm(newsroom, hours_ahead):
    now = timezone.now() + timedelta(hours=hours_ahead)
    lists = listings.story_lists(spec(newsroom), now=now)
    assert [ref.pk for ref in lists["featured"]] == orm_pks(now, 1, featured=True)
    assert [ref.pk for ref in lists["latest"]] == orm_pks(now, 7)
    for section in newsroom:
        assert [ref.pk for ref in lists[f"s{section.pk}"]] == orm_pks(now, 3, category=section)


def test_refs_carry_what_the_card_key_needs(newsroom):
    lists = listings.story_lists(spec(newsroom))
    for ref in lists["latest"]:
        story = Article.objects.select_related("bias_rating").get(pk=ref.pk)
        assert ref.updated_at == story.updated_at
        assert ref.published_at == story.published_at
        assert ref.category_id == story.category_id
        rating = getattr(story, "bias_rating", None)
        assert ref.rating == ((rating.left, rating.center, rating.right) if rating else None)


def test_the_scheduled_story_appears_once_its_time_comes(newsroom):
    scheduled = Article.objects.scheduled().get()
    assert scheduled.pk not in [ref.pk for ref in listings.story_lists(spec(newsroom))["latest"]]
    later = scheduled.published_at + timedelta(seconds=1)
    assert listings.story_lists(spec(newsroom), now=later)["latest"][0].pk == scheduled.pk


def test_a_query_without_the_publish_time_is_refused():
    with pytest.raises(ValueError, match="publish time"):
        listings.CompiledQuery([Article.objects.values_list("pk", flat=True)[:3]])
