"""Stories with the rated outlets on each side set by hand (articles.newsroom fills them in the app)."""

from datetime import UTC, datetime

from tests.factories import ArticleFactory, BiasRatingFactory, CategoryFactory


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def story(*, section="world", at=None, left=0, center=0, right=0, rated=True, **traits):
    """A story in `section` published `at` (else the factory's time, or its trait's), cited by `left`,
    `center` and `right` distinct rated outlets."""
    if at is not None:
        traits["published_at"] = at
    article = ArticleFactory(category=CategoryFactory(slug=section), **traits)
    if rated:
        BiasRatingFactory(article=article, outlets_left=left, outlets_center=center, outlets_right=right)
    return article
