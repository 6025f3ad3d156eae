"""The rating computed from the sources (articles.newsroom.stories.bias_rating_refresh): one voice per
outlet, wire copies left out, unrated outlets counted apart, each once."""

import pytest
from django.utils import timezone

from articles.models import BiasRating, Source, SourceRating
from articles.newsroom import ratings, stories
from tests.factories import ArticleFactory, ArticleSourceFactory, BiasRatingFactory, SourceFactory

pytestmark = pytest.mark.django_db


def computed(article):
    rating = stories.bias_rating_refresh(article=article)
    if rating is None:
        assert not BiasRating.objects.filter(article=article).exists()
        return None
    rating.refresh_from_db()
    assert rating.method == BiasRating.Method.SOURCES
    return rating.left, rating.center, rating.right, rating.unrated_sources


@pytest.fixture
def outlets():
    return {lean: SourceFactory(bias=lean) for lean in ("left", "center", "right", "unrated")}


def cite(article, outlet, *, wire_copy=False):
    return ArticleSourceFactory(article=article, source=outlet, wire_copy=wire_copy)


def test_an_outlet_cited_by_two_of_its_pieces_is_one_voice(outlets):
    article = ArticleFactory()
    cite(article, outlets["left"])
    cite(article, outlets["left"])
    cite(article, outlets["right"])
    assert computed(article) == (50, 0, 50, 0)  # not 67 / 33: two pieces of one outlet are one voice


def test_a_wire_copy_is_left_out(outlets):
    article = ArticleFactory()
    cite(article, outlets["left"])
    cite(article, outlets["right"], wire_copy=True)
    assert computed(article) == (100, 0, 0, 0)


def test_a_wire_copy_whose_outlet_also_has_an_original_changes_nothing(outlets):
    article = ArticleFactory()
    cite(article, outlets["left"])
    cite(article, outlets["center"])
    before = computed(article)
    cite(article, outlets["center"], wire_copy=True)
    assert computed(article) == before == (50, 50, 0, 0)


def test_unrated_outlets_are_counted_once_each(outlets):
    article = ArticleFactory()
    other_unrated = SourceFactory(bias=Source.Lean.UNRATED)
    cite(article, outlets["center"])
    cite(article, outlets["unrated"])
    cite(article, outlets["unrated"])
    cite(article, other_unrated)
    cite(article, SourceFactory(bias=Source.Lean.UNRATED), wire_copy=True)
    assert computed(article) == (0, 100, 0, 2)


def test_a_story_citing_only_wire_copies_has_no_computed_rating(outlets):
    article = ArticleFactory()
    cite(article, outlets["left"])
    assert computed(article) == (100, 0, 0, 0)
    article.article_sources.update(wire_copy=True)
    assert computed(article) is None  # a bar with nothing behind it is removed


def test_an_editorial_rating_is_left_alone(outlets):
    article = ArticleFactory()
    cite(article, outlets["left"])
    cite(article, outlets["left"])
    BiasRatingFactory(article=article, left=20, center=60, right=20)
    rating = stories.bias_rating_refresh(article=article)
    assert (rating.method, rating.left, rating.center, rating.right) == ("editorial", 20, 60, 20)


def test_a_changed_lean_recomputes_with_each_outlet_once(outlets):
    article = ArticleFactory(draft=True)  # not live yet: a new rating recomputes it
    cite(article, outlets["left"])
    cite(article, outlets["left"])
    cite(article, outlets["center"])
    computed(article)
    rating = SourceRating(
        source=outlets["center"], lean=Source.Lean.RIGHT, effective_from=timezone.localdate(), method="Review"
    )
    assert ratings.source_rating_save(rating=rating, user=None).recomputed == 1
    rating = BiasRating.objects.get(article=article)
    assert (rating.left, rating.center, rating.right) == (50, 0, 50)


def test_readers_get_the_bar_as_computed_with_every_piece_still_listed(client, outlets):
    article = ArticleFactory()
    for outlet, copy in [("left", False), ("left", False), ("center", False), ("right", True)]:
        cite(article, outlets[outlet], wire_copy=copy)
    computed(article)
    html = client.get(article.get_absolute_url()).content.decode()
    assert 'aria-label="Coverage bias: 50% left, 50% center, 0% right"' in html
    for row in article.article_sources.all():
        assert row.url in html  # the copy is cited all the same
