"""Fixtures shared by the balance tests (test_balance.py, test_balance_pages.py)."""

import pytest

from articles.models import Article
from tests.coverage.balance_data import NOW
from tests.coverage.newsroom import story, utc
from tests.factories import ArticleSourceFactory, CategoryFactory, SourceFactory


@pytest.fixture
def balance_newsroom():
    """World and Politics stories inside and outside the windows, and stories that must never count."""
    world, politics = CategoryFactory(slug="world"), CategoryFactory(slug="politics")
    story(at=utc(2026, 7, 15, 8), left=2, center=1)
    story(at=utc(2026, 7, 8, 23, 30), center=2, right=1)  # 00:30 on the 9th in London: in the 7 days
    story(at=utc(2026, 7, 8, 22, 30), left=1, right=3)  # 23:30 on the 8th in London: 30 days only
    story(at=utc(2026, 6, 16, 0, 10), left=1)  # 01:10 on 16 June: the 30 days' first day
    story(at=utc(2026, 6, 15, 22, 50), left=7)  # 23:50 on 15 June: outside both
    story(section="politics", at=utc(2026, 7, 13, 9), left=1, center=1, right=1)
    story(section="politics", at=utc(2026, 7, 12, 9), rated=False)  # a live story without voices
    # Never counted: a draft, a scheduled story, one taken back to draft after going live.
    story(left=9, draft=True)
    story(at=utc(2026, 7, 15, 18), right=9)
    story(at=utc(2026, 7, 14, 9), right=9, status=Article.Status.DRAFT)
    return {"world": world, "politics": politics}


@pytest.fixture
def balance_citations(balance_newsroom):
    """Outlets cited by World and Politics stories, inside and outside the 30 days."""
    a, b, c = (SourceFactory(name=name) for name in ("Alpha", "Bravo", "Charlie"))

    def cite(article, *outlets):
        for outlet in outlets:
            ArticleSourceFactory(article=article, source=outlet)

    published = Article.objects.published(now=NOW)
    live = list(
        published.filter(category=balance_newsroom["world"], published_at__gte=utc(2026, 6, 15, 23)).order_by(
            "-published_at"
        )
    )
    assert len(live) == 4  # the World stories of the last 30 days
    cite(live[0], a, a, b)  # Alpha twice (two of its pieces): one story
    cite(live[1], a, c)
    cite(live[2], b)
    old = Article.objects.get(published_at=utc(2026, 6, 15, 22, 50))
    cite(old, c)
    for hidden in Article.objects.exclude(pk__in=published):
        cite(hidden, a, b, c)
    politics = published.filter(category=balance_newsroom["politics"]).order_by("pk")
    cite(politics[0], c)
    return {"alpha": a, "bravo": b, "charlie": c}
