"""Factories with sane defaults: a published story in World, lean outlets, an editorial rating."""

import io
import json
from datetime import date, timedelta

import factory
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from django.utils.text import slugify
from factory.django import DjangoModelFactory
from PIL import ExifTags, Image

from articles import search_index
from articles.models import Article, ArticleSource, BiasRating, Category, Source, SourceRating


def image_bytes(fmt="JPEG", size=(20, 10), *, color=(200, 30, 30), orientation=None, gps=False) -> bytes:
    """A small picture encoded in `fmt`, optionally with an EXIF orientation and a GPS position."""
    img = Image.new("RGB", size, color)
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.Base.Make] = "TestCam"
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 0.0)
        gps_ifd[ExifTags.GPS.GPSLongitudeRef] = "W"
        gps_ifd[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 0.0)
    out = io.BytesIO()
    if len(exif):
        img.save(out, fmt, exif=exif)
    else:
        img.save(out, fmt)
    return out.getvalue()


RATED_SINCE = date(2000, 1, 1)


def _seconds_ago(n):
    # Seconds, not minutes: a whole test run makes thousands of stories in one process, and they
    # must all stay within the news sitemap's last 48 hours.
    return timezone.now() - timedelta(hours=1, seconds=n)


class CategoryFactory(DjangoModelFactory):
    """The sections come from data migration 0002; the default is World."""

    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = "world"
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    position = factory.Sequence(lambda n: 100 + n)


class SourceFactory(DjangoModelFactory):
    class Meta:
        model = Source
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Outlet {n}")
    slug = factory.Sequence(lambda n: f"outlet-{n}")
    domain = factory.Sequence(lambda n: f"outlet{n}.example")
    homepage = factory.LazyAttribute(lambda o: f"https://{o.domain}/")
    bias = Source.Lean.CENTER

    @factory.post_generation
    def rating(obj, create, extracted, **kwargs):
        """The dated rating behind `bias` (Source.bias is the rating in force today): one since
        2000-01-01, so stories of any date use the outlet's lean. SourceFactory(rating=False): none."""
        if create and extracted is not False and obj.bias != Source.Lean.UNRATED:
            SourceRating.objects.create(
                source=obj, lean=obj.bias, effective_from=RATED_SINCE, method="Test rating"
            )

    class Params:
        with_logo = factory.Trait(
            logo=factory.LazyFunction(lambda: ContentFile(image_bytes("PNG", (64, 32)), name="logo.png"))
        )


class ArticleFactory(DjangoModelFactory):
    """Published an hour (and a few seconds) ago unless a trait says otherwise. Created as a row, with
    the search vector the save path would write (articles.newsroom.stories.article_save)."""

    class Meta:
        model = Article
        skip_postgeneration_save = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        article = super()._create(model_class, *args, **kwargs)
        search_index.refresh([article.pk])
        return article

    title = factory.Sequence(lambda n: f"Story number {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.title))
    category = factory.SubFactory(CategoryFactory)
    summary = "First paragraph of the story.\n\nSecond paragraph, with *emphasis*."
    status = Article.Status.PUBLISHED
    published_at = factory.Sequence(_seconds_ago)

    class Params:
        draft = factory.Trait(status=Article.Status.DRAFT, published_at=None)
        scheduled = factory.Trait(
            published_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
        )
        # Was published (its publish time is in the past), then an editor set it back to draft.
        unpublished = factory.Trait(status=Article.Status.DRAFT)
        with_image = factory.Trait(
            image=factory.LazyFunction(lambda: ContentFile(image_bytes("JPEG", (640, 320)), name="lead.jpg")),
            image_alt="A red rectangle",
            image_credit="example.org",
        )


class ArticleSourceFactory(DjangoModelFactory):
    """A citation, with its story's search vector brought up to date (it holds the outlets' names)."""

    class Meta:
        model = ArticleSource

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        citation = super()._create(model_class, *args, **kwargs)
        search_index.refresh([citation.article_id])
        return citation

    article = factory.SubFactory(ArticleFactory)
    source = factory.SubFactory(SourceFactory)
    url = factory.Sequence(lambda n: f"https://news.example/piece-{n}")
    title = factory.Sequence(lambda n: f"Original piece {n}")
    position = factory.Sequence(int)


class BiasRatingFactory(DjangoModelFactory):
    class Meta:
        model = BiasRating

    article = factory.SubFactory(ArticleFactory)
    left = 20
    center = 60
    right = 20
    method = BiasRating.Method.EDITORIAL


def import_one_story(folder, **changes) -> None:
    """Import (or re-import) one published World story, slug "harbour-strike", through the command."""
    story = {
        "title": "Harbour strike ends",
        "slug": "harbour-strike",
        "section": "world",
        "status": "published",
        "published_at": "2026-01-01T09:00:00Z",
        "summary": "Dockers return to work.",
        **changes,
    }
    path = folder / "import.json"
    path.write_text(json.dumps({"sources": [], "articles": [story]}), encoding="utf-8")
    call_command("import_articles", str(path), verbosity=0)
