"""The rule: a story's computed balance uses each outlet's rating in force on the story's date
(articles.newsroom.basis); a later rating does not rewrite a published story (articles.newsroom.ratings)."""

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from freezegun import freeze_time

from articles.models import Article, BiasRating, Source, SourceRating
from articles.newsroom import ratings, stories
from tests.factories import ArticleFactory, ArticleSourceFactory, BiasRatingFactory, SourceFactory

pytestmark = pytest.mark.django_db

CHANGE = date(2023, 6, 1)


def rate(outlet, lean, day, **extra):
    rating = SourceRating(source=outlet, lean=lean, effective_from=day, method="Review", **extra)
    return ratings.source_rating_save(rating=rating, user=None)


def published_on(day: date, **kwargs) -> Article:
    moment = timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=12))
    return ArticleFactory(published_at=moment, **kwargs)


def bar(article):
    rating = BiasRating.objects.get(article=article)
    return rating.left, rating.center, rating.right


@pytest.fixture
def moving():
    """An outlet rated center until CHANGE, left from it, and a steady right-hand one."""
    outlet = SourceFactory(bias="center", rating=False, name="Moving Post")
    rate(outlet, "center", date(2015, 1, 1), rater_kind="external", rater_name="Civic Lens")
    rate(outlet, "left", CHANGE)
    return outlet, SourceFactory(bias="right")


def cite_both(article, pair):
    for outlet in pair:
        ArticleSourceFactory(article=article, source=outlet)
    return stories.bias_rating_refresh(article=article)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (CHANGE - timedelta(days=1), (0, 50, 50)),  # the day before: the older rating
        (CHANGE, (50, 0, 50)),  # the same day: the new one is in force
        (CHANGE + timedelta(days=400), (50, 0, 50)),
    ],
)
def test_the_rating_in_force_on_the_publish_date(moving, day, expected):
    article = published_on(day)
    rating = cite_both(article, moving)
    assert bar(article) == expected
    assert rating.as_of == day


def test_the_basis_names_each_outlet_with_the_rating_used(moving):
    article = published_on(CHANGE - timedelta(days=10))
    ArticleSourceFactory(article=article, source=moving[0])
    ArticleSourceFactory(article=article, source=moving[1])
    copy = SourceFactory(bias="left")
    ArticleSourceFactory(article=article, source=copy, wire_copy=True)
    unrated = SourceFactory(bias="unrated")
    ArticleSourceFactory(article=article, source=unrated)
    rating = stories.bias_rating_refresh(article=article)
    assert (rating.outlets_left, rating.outlets_center, rating.outlets_right) == (0, 1, 1)
    assert rating.unrated_sources == 1
    first, second, third = rating.basis["outlets"]
    older = moving[0].ratings.get(effective_from=date(2015, 1, 1))
    assert first == {
        "outlet": moving[0].pk, "name": "Moving Post", "slug": moving[0].slug, "lean": "center",
        "rating": older.pk, "rater": "Civic Lens", "rater_kind": "external", "effective_from": "2015-01-01",
        "confidence": "medium", "method": "Review",
    }  # fmt: skip
    assert (second["lean"], second["rater_kind"]) == ("right", "newsroom")
    assert second["rater"].endswith(" newsroom")
    assert third == {
        "outlet": unrated.pk, "name": unrated.name, "slug": unrated.slug, "lean": "unrated", "rating": None,
        "rater": "", "rater_kind": "", "effective_from": None, "confidence": "", "method": "",
    }  # fmt: skip
    assert rating.basis["wire_copies"] == [{"outlet": copy.pk, "name": copy.name, "slug": copy.slug}]
    assert rating.computed_at is not None


def test_an_outlet_unrated_on_the_date_is_left_out(moving):
    late = SourceFactory(bias="left", rating=False)
    rate(late, "left", CHANGE)
    article = published_on(CHANGE - timedelta(days=1))
    ArticleSourceFactory(article=article, source=late)
    assert stories.bias_rating_refresh(article=article) is None  # nothing rated then: no bar


def test_a_draft_uses_today(moving):
    draft = ArticleFactory(draft=True)
    cite_both(draft, moving)
    assert bar(draft) == (50, 0, 50)
    assert BiasRating.objects.get(article=draft).as_of == timezone.localdate()


def test_a_scheduled_story_uses_its_publish_date(moving):
    ahead = SourceFactory(bias="center")
    scheduled = ArticleFactory(scheduled=True)
    cite_both(scheduled, (ahead, moving[1]))
    assert BiasRating.objects.get(article=scheduled).as_of == timezone.localdate(scheduled.published_at)


def test_a_later_rating_does_not_rewrite_a_published_story_but_recomputes_drafts(moving):
    outlet, _right = moving
    live, draft = published_on(CHANGE + timedelta(days=30)), ArticleFactory(draft=True)
    scheduled = ArticleFactory(scheduled=True)
    for story in (live, draft, scheduled):
        cite_both(story, moving)
    before = BiasRating.objects.get(article=live)
    change = rate(outlet, "center", CHANGE + timedelta(days=10))  # backdated, before the live story
    assert (change.recomputed, change.published_kept, change.lean) == (2, 1, "center")
    assert bar(live) == (50, 0, 50)  # as published
    assert BiasRating.objects.get(article=live).computed_at == before.computed_at
    assert bar(draft) == (0, 50, 50)
    assert bar(scheduled) == (0, 50, 50)
    outlet.refresh_from_db()
    assert outlet.bias == "center"


def test_editing_a_live_story_keeps_the_ratings_it_was_published_with(moving, editor):
    """Fixing a typo is not a request to recompute: counted outlets keep their recorded rating, an
    outlet newly cited takes the one in force on the story's date; the Editor's action redoes all."""
    outlet, _right = moving
    live = published_on(CHANGE + timedelta(days=30), title="Before the fix")
    cite_both(live, moving)
    rate(outlet, "center", CHANGE + timedelta(days=10))  # backdated, before the live story
    live.title = "After the fix"
    stories.article_save(article=live, user=editor, comment="Typo.")
    assert bar(live) == (50, 0, 50)  # still as published
    newcomer = SourceFactory(bias="unrated", rating=False)
    rate(newcomer, "left", CHANGE)
    ArticleSourceFactory(article=live, source=newcomer)
    stories.article_save(article=live, user=editor, comment="A source added.")
    assert bar(live) == (67, 0, 33)  # moving still counted left as published, the newcomer left
    ratings.stories_recompute(articles=Article.objects.filter(pk=live.pk), user=editor)
    assert bar(live) == (34, 33, 33)  # every outlet on the story's date: center, right, left


def test_removing_a_rating_puts_the_one_before_back_in_force(moving):
    outlet, _ = moving
    draft = ArticleFactory(draft=True)
    cite_both(draft, moving)
    change = ratings.source_rating_delete(rating=outlet.ratings.get(effective_from=CHANGE), user=None)
    assert change.lean == "center"
    assert Source.objects.get(pk=outlet.pk).bias == "center"
    assert bar(draft) == (0, 50, 50)


def test_an_editorial_rating_keeps_its_numbers_and_gets_its_basis(moving):
    rating = BiasRatingFactory(left=10, center=10, right=80, article=published_on(CHANGE))
    cite_both(rating.article, moving)
    rating.refresh_from_db()
    assert (rating.left, rating.center, rating.right, rating.method) == (10, 10, 80, "editorial")
    assert (rating.outlets_left, rating.outlets_center, rating.outlets_right) == (1, 0, 1)
    assert len(rating.basis["outlets"]) == 2


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"effective_from": date(2099, 1, 1)}, "effective_from"),
        ({"rater_kind": "external", "rater_name": ""}, "rater_name"),
        ({"effective_from": CHANGE}, "__all__"),  # a second rating the same day
        ({"method": ""}, "method"),
    ],
)
def test_a_bad_rating_is_refused_and_nothing_changes(moving, values, field):
    outlet, _ = moving
    fields = {"lean": "right", "effective_from": date(2020, 1, 1), "method": "Review"} | values
    with pytest.raises(ValidationError) as caught:
        ratings.source_rating_save(rating=SourceRating(source=outlet, **fields), user=None)
    assert field in caught.value.message_dict
    assert outlet.ratings.count() == 2
    assert Source.objects.get(pk=outlet.pk).bias == "left"


def test_the_future_is_judged_by_the_local_date():
    outlet = SourceFactory(rating=False)
    with freeze_time("2026-06-30T23:30:00Z"):  # already 1 July in London (BST)
        rate(outlet, "left", date(2026, 7, 1))
    assert outlet.ratings.get().effective_from == date(2026, 7, 1)


def test_a_writer_cannot_rate_an_outlet(moving, writer, editor):
    outlet, _ = moving
    rating = SourceRating(source=outlet, lean="right", effective_from=date(2024, 1, 1), method="Mine")
    with pytest.raises(PermissionDenied):
        ratings.source_rating_save(rating=rating, user=writer)
    with pytest.raises(PermissionDenied):
        ratings.source_rating_delete(rating=outlet.ratings.first(), user=writer)
    assert outlet.ratings.count() == 2
    ratings.source_rating_save(rating=rating, user=editor)
    assert outlet.ratings.get(effective_from=date(2024, 1, 1)).created_by == editor


def test_leans_on_answers_in_one_query(moving, django_assert_num_queries):
    outlet, right = moving
    never = SourceFactory(bias="unrated")
    with django_assert_num_queries(1):
        found = ratings.leans_on(source_ids=[outlet.pk, right.pk, never.pk], day=CHANGE - timedelta(days=1))
    assert {pk: r and r.lean for pk, r in found.items()} == {
        outlet.pk: "center",
        right.pk: "right",
        never.pk: None,
    }
