from datetime import date

import pytest

from articles.models import SourceRating
from tests.factories import (
    ArticleFactory,
    ArticleSourceFactory,
    BiasRatingFactory,
    CategoryFactory,
    SourceFactory,
)


@pytest.fixture
def newsroom(db):
    """A live story citing two outlets (one a wire copy) with a balance, a live one without, and the hidden
    kinds: a draft, a scheduled story and an unpublished one, each citing an outlet only they cite."""
    left = SourceFactory(
        slug="left-times", name="Left Times", domain="left.example", bias="left", country="GB"
    )
    right = SourceFactory(slug="right-post", name="Right Post", domain="right.example", bias="right")
    hidden_only = SourceFactory(slug="hidden-outlet", domain="hidden.example", bias="center")
    SourceRating.objects.create(
        source=left, lean="center", effective_from=date(2010, 1, 1), rater_kind="external",
        rater_name="Media Rater", method="Survey", confidence="low",
    )  # fmt: skip
    live = ArticleFactory(title="Harbour strike ends", category=CategoryFactory(slug="world"))
    ArticleSourceFactory(article=live, source=left, url="https://left.example/strike", title="Strike over")
    ArticleSourceFactory(article=live, source=right, url="https://right.example/strike", wire_copy=True)
    BiasRatingFactory(article=live, left=50, center=0, right=50, method="sources")
    plain = ArticleFactory(title="Budget vote", category=CategoryFactory(slug="politics"))
    ArticleSourceFactory(article=plain, source=right)
    hidden = {
        "draft": ArticleFactory(draft=True, title="Draft story"),
        "scheduled": ArticleFactory(scheduled=True, title="Scheduled story"),
        "unpublished": ArticleFactory(unpublished=True, title="Unpublished story"),
    }
    for story in hidden.values():
        ArticleSourceFactory(article=story, source=hidden_only, url=f"https://hidden.example/{story.pk}")
        BiasRatingFactory(article=story)
    return {
        "live": live,
        "plain": plain,
        "hidden": hidden,
        "left": left,
        "right": right,
        "hidden_only": hidden_only,
    }
