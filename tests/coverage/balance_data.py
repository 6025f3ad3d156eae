"""For the balance tests: the clock of the hand-worked newsroom (conftest.py), a big archive in bulk."""

import random
from datetime import date, timedelta

from django.utils import timezone

from articles.models import Article, ArticleSource, BiasRating, Category
from tests.coverage.newsroom import utc
from tests.factories import SourceFactory

# 13:00 in London (British Summer Time): today is the 15th; the last 7 days start on the 9th at
# 00:00 BST (the 8th, 23:00 UTC), the last 30 on 16 June.
NOW = utc(2026, 7, 15, 12)
TODAY = date(2026, 7, 15)


def bulk_archive(n: int, *, spacing: timedelta) -> None:
    """n stories (one in 50 a draft), each citing two of twelve outlets, every other one rated."""
    rng = random.Random(13)
    sections = list(Category.objects.all())
    outlets = [SourceFactory(bias=lean) for lean in ["left", "center", "right", "lean_left"] * 3]
    now = timezone.now()
    stories = Article.objects.bulk_create(
        Article(
            title=f"Archive story {i}",
            slug=f"archive-story-{i}",
            category=sections[i % len(sections)],
            summary="Text.",
            summary_html="<p>Text.</p>",
            status=Article.Status.PUBLISHED if i % 50 else Article.Status.DRAFT,
            published_at=now - spacing * i - timedelta(minutes=1),
        )
        for i in range(n)
    )
    ArticleSource.objects.bulk_create(
        ArticleSource(article=story, source=outlet, url=f"https://x.example/{story.pk}/{k}", position=k)
        for story in stories
        for k, outlet in enumerate(rng.sample(outlets, 2))
    )
    BiasRating.objects.bulk_create(
        BiasRating(article=s, left=50, center=50, right=0, outlets_left=1, outlets_center=1)
        for s in stories[::2]
    )
