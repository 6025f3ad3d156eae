"""Sections of the site."""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

# Top-level addresses the site answers itself: a section under one of these names would never be seen.
RESERVED_SLUGS = frozenset({
    "admin", "api", "balance", "blindspot", "feed", "healthz", "media", "methodology", "preview",
    "search", "sources", "static",
})  # fmt: skip


def not_reserved(slug: str) -> None:
    if slug in RESERVED_SLUGS:
        raise ValidationError(f"“{slug}” is an address the site uses for its own pages; choose another.")


class Category(models.Model):
    """A section of the site (World, Politics, ...). Home is not a category: it spans them all."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(
        max_length=60, unique=True, validators=[not_reserved], help_text="Used in the section's web address."
    )
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Order in the navigation bar, lowest first."
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="One line shown under the section title."
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = "section"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("articles:section", kwargs={"section": self.slug})
