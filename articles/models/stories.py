"""Stories, the outlets each cites and its bias rating; the one rule of visibility (published())."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils import timezone

from articles import images
from articles.models.image_field import SizedImageField
from articles.models.sections import Category
from articles.models.sources import Source, http_url, unguessable_path
from articles.text import plain_excerpt, render_markdown


def article_image_path(instance, filename):
    return unguessable_path("articles", filename)


CARD_DEFERRED = ("summary", "summary_html", "search_vector", "created_by", "updated_by", "created_at")


class PublishedMonth(models.Func):
    """The UTC year and month a story goes live, as one number (202611): its page of the story
    sitemap. Immutable SQL on both databases, so that it can be a stored generated column."""

    output_field = models.IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        utc = "(%(expressions)s AT TIME ZONE 'UTC')"
        template = f"(EXTRACT(YEAR FROM {utc}) * 100 + EXTRACT(MONTH FROM {utc}))::integer"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores datetimes on SQLite as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        template = "CAST(substr(%(expressions)s, 1, 4) || substr(%(expressions)s, 6, 2) AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)


class ArticleQuerySet(models.QuerySet):
    def published(self, now=None):
        """The one rule of visibility: published, and its publish time has come (by `now`)."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=now or timezone.now())

    def scheduled(self):
        return self.filter(status=Article.Status.PUBLISHED, published_at__gt=timezone.now())

    def for_cards(self):
        """What an article card needs, in the same query, and nothing else: the full texts and the
        search vector are most of a row's bytes and cost more to fetch than the query itself."""
        return (
            self.select_related("category", "bias_rating")
            .defer(*CARD_DEFERRED)
            .order_by("-published_at", "-pk")
        )


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, help_text="The story's web address. Keep it short.")
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="articles", verbose_name="section"
    )
    summary = models.TextField(
        help_text="Markdown. Separate paragraphs with a blank line; **bold**, *italic* and links work."
    )
    summary_html = models.TextField(editable=False, blank=True)
    excerpt = models.CharField(max_length=300, editable=False, blank=True)
    image = SizedImageField(
        "lead image",
        upload_to=article_image_path,
        blank=True,
        width_field="image_width",
        height_field="image_height",
        help_text="JPEG, PNG or WebP, at least 960 pixels wide for a sharp picture.",
    )
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_alt = models.CharField(
        "image description",
        max_length=300,
        blank=True,
        help_text="What the picture shows, for readers who cannot see it. Required with an image.",
    )
    image_credit = models.CharField(
        max_length=120, blank=True, help_text='Where the picture comes from; shown as "Image from …".'
    )
    renditions = models.JSONField(default=dict, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(
        "publish time",
        null=True,
        blank=True,
        help_text="Leave empty to publish now. A time in the future schedules the story.",
    )
    modified_at = models.DateTimeField(
        "last updated",
        null=True,
        blank=True,
        editable=False,
        help_text="When the story's content last changed after it went live; shown to readers as “Updated”.",
    )
    ai_summary = models.BooleanField(
        "AI-written summary",
        default=False,
        help_text="Shows readers the AI-summary note. A draft made on the Story desk starts with it on: "
        "untick it only once a person has rewritten the summary.",
    )
    featured = models.BooleanField(default=False, help_text="Featured stories lead the front page.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Written at save time on PostgreSQL (articles.search_index); an unused NULL column on SQLite.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    # The story sitemap's page (articles.site.sitemaps); kept by the database itself.
    published_month = models.GeneratedField(
        expression=PublishedMonth("published_at"), output_field=models.IntegerField(), db_persist=True
    )
    # Optimistic locking: the admin form carries the number it was opened with, and a save from
    # an older number is refused instead of overwriting someone else's work.
    lock_version = models.PositiveIntegerField(default=0, editable=False)

    objects = ArticleQuerySet.as_manager()

    _saved_image_name = None

    class Meta:
        ordering = ["-published_at", "-pk"]
        permissions = [("publish_article", "Can publish and unpublish articles")]
        indexes = [
            models.Index(fields=["status", "-published_at", "-id"], name="article_live_idx"),
            models.Index(
                fields=["category", "status", "-published_at", "-id"], name="article_section_live_idx"
            ),
            # Sitemaps' lastmod: the newest edit of a live story, found without reading the archive.
            models.Index(fields=["-updated_at"], name="article_updated_idx"),
            # Each sitemap month's newest edit in one index probe (articles.site.sitemaps.month_lastmods).
            models.Index(
                fields=["status", "published_month", "-updated_at"], name="article_month_updated_idx"
            ),
            models.Index(
                fields=["-published_at"],
                condition=Q(featured=True, status="published"),
                name="article_featured_idx",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        self.render_summary()
        image_changed = (self.image.name or None) != (self._saved_image_name or None)
        if image_changed:
            self.renditions = {}
        # (A row loaded and given pk=None, Django's way to copy it, is an insert: left alone.)
        if self.pk is not None and not self._state.adding and kwargs.get("update_fields") is None:
            # The search vector is written by articles.search_index alone (it depends on the cited
            # outlets too): an update never writes back the copy this instance holds, which may be
            # older than the row's, or never loaded.
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and not f.generated and f.name != "search_vector"
            ]
        super().save(*args, **kwargs)
        if image_changed and self.image:
            self.renditions = images.make_renditions(self.image)
            type(self).objects.filter(pk=self.pk).update(renditions=self.renditions)
        self._saved_image_name = self.image.name

    def get_absolute_url(self):
        return reverse("articles:article", kwargs={"section": self.category.slug, "slug": self.slug})

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.status == self.Status.PUBLISHED and (problems := self.publish_problems()):
            raise ValidationError(problems)

    def publish_problems(self) -> dict[str, str]:
        """What stops this story going live or being scheduled, by field; empty when nothing does."""
        return self.check_publishable(
            has_image=bool(self.image), image_alt=self.image_alt, image_credit=self.image_credit
        )

    @staticmethod
    def check_publishable(*, has_image: bool, image_alt: str, image_credit: str) -> dict[str, str]:
        """The one rule a story meets before it is published or scheduled; the admin form (through
        clean), the bulk publish action and the importer all apply it. A story may go live without a
        picture (then no credit is needed); a picture needs a description for readers who cannot see
        it and a credit. Drafts may lack both."""
        problems = {}
        if has_image and not image_alt.strip():
            problems["image_alt"] = "Describe the lead image before publishing, for readers who can't see it."
        if has_image and not image_credit.strip():
            problems["image_credit"] = "Credit the lead image before publishing (readers see “Image from …”)."
        return problems

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        # Remember the stored image so save() makes renditions only when it changes.
        instance._saved_image_name = instance.__dict__.get("image")
        return instance

    def render_summary(self):
        """Markdown to sanitized HTML and a plain excerpt, once per save (never per page view)."""
        self.summary_html = render_markdown(self.summary)
        self.excerpt = plain_excerpt(self.summary_html)

    def is_published(self) -> bool:
        """Mirrors ArticleQuerySet.published() for an instance in hand."""
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    def is_scheduled(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED and self.published_at is not None and not self.is_published()
        )

    def rendition(self, name: str) -> dict | None:
        return self.renditions.get(name)

    @property
    def last_modified(self):
        """The time readers and feeds are told the story last changed."""
        return self.modified_at or self.published_at


class ArticleSource(models.Model):
    """One piece of outside reporting a story was drawn from."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="article_sources")
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="citations", verbose_name="outlet"
    )
    url = models.URLField("link to the original piece", max_length=500, validators=[http_url])
    title = models.CharField("its headline", max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # A syndicated copy (a wire story run word for word by another outlet) is cited, but it is one
    # piece of reporting: the computed bias counts its original alone (bias_rating_refresh).
    wire_copy = models.BooleanField(
        default=False, help_text="Repeats another source's text (a wire copy): counted once in the bias bar."
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "source"
        constraints = [models.UniqueConstraint(fields=["article", "url"], name="articlesource_unique_url")]

    def __str__(self):
        return self.url


class BiasRating(models.Model):
    """Left / center / right coverage of one story, as whole percentages summing to 100."""

    class Method(models.TextChoices):
        EDITORIAL = "editorial", "Set by an editor"
        SOURCES = "sources", "Computed from the sources' leans"

    article = models.OneToOneField(
        Article, on_delete=models.CASCADE, primary_key=True, related_name="bias_rating"
    )
    left = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    center = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    right = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    method = models.CharField(max_length=10, choices=Method, default=Method.EDITORIAL)
    unrated_sources = models.PositiveSmallIntegerField(
        default=0,
        editable=False,
        help_text="Sources left out of a computed rating because their lean is unrated.",
    )
    # What the bar rests on, for readers ("How this was rated") and for blindspots: the date whose
    # outlet ratings were used (the story's publish date), the distinct rated outlets on each side
    # (wire copies once), and each counted outlet with the rating used (articles.newsroom.ratings).
    as_of = models.DateField(null=True, blank=True, editable=False)
    outlets_left = models.PositiveSmallIntegerField(default=0, editable=False)
    outlets_center = models.PositiveSmallIntegerField(default=0, editable=False)
    outlets_right = models.PositiveSmallIntegerField(default=0, editable=False)
    basis = models.JSONField(default=dict, blank=True, editable=False)
    computed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "bias rating"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    left__gte=0, left__lte=100, center__gte=0, center__lte=100, right__gte=0, right__lte=100
                ),
                name="biasrating_each_0_100",
            ),
            models.CheckConstraint(
                condition=Exact(F("left") + F("center") + F("right"), 100), name="biasrating_sums_to_100"
            ),
        ]

    def __str__(self):
        return f"L {self.left}% C {self.center}% R {self.right}%"

    def clean(self):
        from django.core.exceptions import ValidationError

        values = (self.left, self.center, self.right)
        if None not in values and sum(values) != 100:
            raise ValidationError(
                f"Left, center and right must add up to 100%; they add up to {sum(values)}%.", code="sum"
            )
