"""Outlets: the news organisations whose reporting stories draw on, with their lean."""

import uuid
from pathlib import PurePosixPath

from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import CountryField

from articles import images
from articles.models.image_field import SizedImageField

http_url = URLValidator(
    schemes=["http", "https"], message="Enter a web address that starts with http:// or https://."
)
domain_validator = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "Enter a bare domain in lower case, such as bbc.co.uk (no http://, no path).",
)


def unguessable_path(folder: str, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower() or ".jpg"
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


def source_logo_path(instance, filename):
    return unguessable_path("logos", filename)


class Source(models.Model):
    """A news outlet whose reporting our stories draw on."""

    class Lean(models.TextChoices):
        LEFT = "left", "Left"
        LEAN_LEFT = "lean_left", "Lean left"
        CENTER = "center", "Center"
        LEAN_RIGHT = "lean_right", "Lean right"
        RIGHT = "right", "Right"
        UNRATED = "unrated", "Unrated"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    domain = models.CharField(
        max_length=253,
        unique=True,
        validators=[domain_validator],
        help_text="The outlet's web domain, e.g. bbc.co.uk. Imports match outlets by this.",
    )
    homepage = models.URLField(max_length=500, validators=[http_url])
    logo = SizedImageField(
        upload_to=source_logo_path,
        blank=True,
        width_field="logo_width",
        height_field="logo_height",
        help_text="PNG, JPEG or WebP. Shown small beside the outlet's links.",
    )
    logo_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    logo_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    logo_small = models.JSONField(default=dict, blank=True, editable=False)
    # The rating in force today, kept here by articles.newsroom.ratings whenever the outlet's ratings
    # (SourceRating, the history) change: lists, filters and exports read it without a join.
    bias = models.CharField(
        "current lean",
        max_length=12,
        choices=Lean,
        default=Lean.UNRATED,
        help_text="The rating in force today. Change it by adding a dated rating below.",
    )
    country = CountryField(blank=True, help_text="Where the outlet is based.")
    description = models.TextField(blank=True)

    _saved_logo_name = None

    class Meta:
        ordering = ["name"]
        indexes = [
            # The outlet directory's pages (articles.site.outlets): in name order, all or by lean today.
            models.Index(fields=["name", "id"], name="source_name_idx"),
            models.Index(fields=["bias", "name", "id"], name="source_lean_name_idx"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower()
        logo_changed = (self.logo.name or None) != (self._saved_logo_name or None)
        if logo_changed:
            self.logo_small = {}
        super().save(*args, **kwargs)
        if logo_changed and self.logo:
            self.logo_small = images.make_logo_rendition(self.logo)
            type(self).objects.filter(pk=self.pk).update(logo_small=self.logo_small)
        self._saved_logo_name = self.logo.name

    def get_absolute_url(self):
        return reverse("articles:source", kwargs={"slug": self.slug})

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._saved_logo_name = instance.__dict__.get("logo")
        return instance
