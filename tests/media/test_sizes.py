"""A picture's size is read from its row once stored (articles.models.image_field): assigning the same
file again, or loading its row, asks the bucket nothing; another file, or a row whose size is missing,
is measured when assigned (on a save)."""

import pytest
from django.core.files.base import ContentFile

from articles.models import Article
from tests.factories import ArticleFactory, SourceFactory, image_bytes

pytestmark = pytest.mark.django_db


def test_the_same_stored_file_assigned_again_is_not_measured_again(bucket):
    article = ArticleFactory(with_image=True)
    outlet = SourceFactory(with_logo=True)
    bucket.forget()

    for row in (Article.objects.get(pk=article.pk), type(outlet).objects.get(pk=outlet.pk)):
        row.full_clean()  # assigns every field its cleaned value, the picture included
        row.save()
    story = Article.objects.get(pk=article.pk)
    story.image = story.image.name

    assert bucket.seen == []
    assert (story.image_width, story.image_height) == (640, 320)


def test_a_row_without_its_size_and_another_file_are_measured(bucket):
    article = ArticleFactory(with_image=True)
    other = ArticleFactory(image=ContentFile(image_bytes("JPEG", (300, 200)), name="other.jpg"))
    Article.objects.filter(pk=article.pk).update(image_width=None, image_height=None)
    bucket.forget()
    story = Article.objects.get(pk=article.pk)
    assert bucket.seen == []  # loading a row (what a page does) never opens its file

    story.full_clean()
    assert (story.image_width, story.image_height) == (640, 320)
    assert bucket.seen  # read from the bucket: there was nothing else to go by

    story.image = other.image.name
    assert (story.image_width, story.image_height) == (300, 200)
