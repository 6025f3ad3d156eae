import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from freezegun import freeze_time

from articles.models import Article, BiasRating, Source
from articles.newsroom import stories
from tests.factories import ArticleFactory, BiasRatingFactory, SourceFactory

pytestmark = pytest.mark.django_db


# --- BiasRating: whole percentages summing to 100, enforced by the form and the database ---------


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"left": 50, "center": 30, "right": 30}, "biasrating_sums_to_100"),
        ({"left": 0, "center": 99, "right": 0}, "biasrating_sums_to_100"),
        ({"left": 101, "center": 0, "right": 0}, "biasrating_"),
    ],
)
def test_database_refuses_a_rating_that_is_not_100(values, constraint):
    article = ArticleFactory()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        BiasRating(article=article, **values).save()
    assert not BiasRating.objects.filter(article=article).exists()


def test_database_refuses_an_update_that_breaks_the_sum():
    rating = BiasRatingFactory(left=20, center=60, right=20)
    with pytest.raises(IntegrityError), transaction.atomic():
        BiasRating.objects.filter(pk=rating.pk).update(left=90)
    rating.refresh_from_db()
    assert (rating.left, rating.center, rating.right) == (20, 60, 20)


def test_full_clean_explains_a_sum_that_is_not_100():
    rating = BiasRating(article=ArticleFactory(), left=50, center=30, right=30)
    with pytest.raises(ValidationError, match="add up to 100%; they add up to 110%"):
        rating.full_clean()


def test_full_clean_refuses_a_value_over_100():
    rating = BiasRating(article=ArticleFactory(), left=101, center=0, right=0)
    with pytest.raises(ValidationError) as excinfo:
        rating.full_clean()
    assert "left" in excinfo.value.message_dict


def test_a_valid_rating_passes_full_clean_and_saves():
    rating = BiasRating(article=ArticleFactory(), left=15, center=80, right=5)
    rating.full_clean()
    rating.save()
    assert str(BiasRating.objects.get()) == "L 15% C 80% R 5%"


# --- Visibility: Article.objects.published() is the one rule; is_published() mirrors it ---------


@pytest.mark.parametrize(
    ("traits", "visible"),
    [
        ({}, True),
        ({"draft": True}, False),
        ({"scheduled": True}, False),
        ({"unpublished": True}, False),
    ],
    ids=["published", "draft", "scheduled", "unpublished"],
)
def test_published_queryset_and_instance_agree(traits, visible):
    article = ArticleFactory(**traits)
    ArticleFactory()  # a published neighbour, so the queryset is never trivially empty
    assert Article.objects.published().filter(pk=article.pk).exists() is visible
    assert article.is_published() is visible
    assert Article.objects.get(pk=article.pk).is_published() is visible


def test_scheduled_is_published_later_and_not_before():
    article = ArticleFactory(scheduled=True)
    assert article.is_scheduled()
    assert list(Article.objects.scheduled()) == [article]
    with freeze_time(article.published_at + timedelta(seconds=1)):
        assert article.is_published()
        assert not article.is_scheduled()
        assert list(Article.objects.published()) == [article]


BOUNDARY = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "visible"),
    [(BOUNDARY, True), (BOUNDARY - timedelta(seconds=1), False), (BOUNDARY + timedelta(seconds=1), True)],
    ids=["publish-time-is-now", "publish-time-one-second-ahead", "one-second-after"],
)
def test_visibility_at_the_publish_time_boundary(now, visible):
    article = ArticleFactory(published_at=BOUNDARY)
    with freeze_time(now):
        assert Article.objects.published().filter(pk=article.pk).exists() is visible
        assert article.is_published() is visible
        assert Article.objects.scheduled().filter(pk=article.pk).exists() is not visible


def test_publishing_without_a_time_publishes_now():
    with freeze_time(BOUNDARY):
        article = ArticleFactory(published_at=None)
        assert article.published_at == BOUNDARY
        assert article.is_published()


def test_a_draft_keeps_no_publish_time():
    assert ArticleFactory(draft=True).published_at is None


# --- Markdown: rendered once at save time, sanitized ---------------------------------------------


HOSTILE = """Hello <script>alert(1)</script> world.

[bad](javascript:alert(1)) and [ftp](ftp://files.example/x) and [data](data:text/html,hi)

<a href="https://ok.example/" onclick="steal()">fine</a> <img src="x" onerror="alert(2)">

<p onmouseover="x()" style="color:red">styled</p>

[good](http://plain.example/)"""


def test_summary_is_rendered_and_sanitized_on_save():
    html = ArticleFactory(summary=HOSTILE).summary_html
    lowered = html.lower()
    for forbidden in (
        "<script",
        "alert(1)",
        "javascript:",
        "ftp:",
        "data:",
        "onclick",
        "onerror",
        "onmouseover",
    ):
        assert forbidden not in lowered, forbidden
    assert "<img" not in lowered
    assert "style=" not in lowered
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert hrefs == ["https://ok.example/", "http://plain.example/"]
    anchors = re.findall(r"<a\b[^>]*>", html)
    assert len(anchors) == 5
    assert all('rel="noopener noreferrer nofollow"' in a for a in anchors)


def test_summary_paragraphs_and_inline_markdown():
    article = ArticleFactory(summary="One **bold** line.\n\nTwo *soft* lines.")
    assert article.summary_html == "<p>One <strong>bold</strong> line.</p>\n<p>Two <em>soft</em> lines.</p>"
    article.summary = "Changed."
    article.save()
    article.refresh_from_db()
    assert article.summary_html == "<p>Changed.</p>"
    assert article.excerpt == "Changed."


def test_excerpt_has_no_space_before_punctuation():
    assert ArticleFactory(summary="With *emphasis*. And more.").excerpt == "With emphasis. And more."


# --- Renditions: made once, at save time -----------------------------------------------------------


def test_renditions_are_made_once_on_save(media_root, media_files):
    article = ArticleFactory(with_image=True)
    assert set(article.renditions) == {"thumb", "480", "640"}
    assert article.renditions["480"]["w"] == 480
    assert article.renditions["480"]["h"] == 240
    stored = Article.objects.get(pk=article.pk)
    assert stored.renditions == article.renditions
    files = media_files()
    assert len(files) == 1 + 3 * 2  # the original, then JPEG + WebP per rendition
    for entry in article.renditions.values():
        assert (media_root / entry["jpg"]).is_file()
        assert (media_root / entry["webp"]).is_file()

    stored.title = "A new title"
    stored.save()
    again = Article.objects.get(pk=article.pk)
    again.save()
    assert media_files() == files
    assert Article.objects.get(pk=article.pk).renditions == article.renditions


def test_no_renditions_without_an_image(media_files):
    article = ArticleFactory()
    assert article.renditions == {}
    assert media_files() == []


# --- Sources ---------------------------------------------------------------------------------------


def test_source_domain_is_stored_lower_case():
    source = SourceFactory(domain="  News.BBC.co.UK ")
    assert Source.objects.get(pk=source.pk).domain == "news.bbc.co.uk"


def test_source_domain_must_be_bare():
    source = SourceFactory.build(domain="https://bbc.co.uk/news")
    with pytest.raises(ValidationError) as excinfo:
        source.full_clean()
    assert "domain" in excinfo.value.message_dict


# --- Publishing, past the admin too ---------------------------------------------------------------


def test_only_editors_may_publish_even_past_the_admin(writer, editor):
    drafts = ArticleFactory.create_batch(2, draft=True)
    queryset = Article.objects.filter(pk__in=[a.pk for a in drafts])
    with pytest.raises(PermissionDenied):
        stories.articles_set_status(articles=queryset, status=Article.Status.PUBLISHED, user=writer)
    assert not Article.objects.published().exists()
    changed = stories.articles_set_status(articles=queryset, status=Article.Status.PUBLISHED, user=editor)
    assert sorted(article.pk for article in changed) == sorted(article.pk for article in drafts)
    assert Article.objects.published().count() == 2


def test_a_story_copied_by_clearing_its_pk_is_saved_as_a_new_row():
    """Django's way to copy a row (pk = None, then save) inserts, though the instance was loaded."""
    original = ArticleFactory(title="Original story")
    copy = Article.objects.get(pk=original.pk)
    copy.pk = None
    copy.slug = "a-copy"
    copy.save()
    assert copy.pk != original.pk
    assert Article.objects.filter(slug__in=["a-copy", original.slug]).count() == 2
