"""Sections of the site."""

from django.db import models
from django.urls import reverse


class Category(models.Model):
    """A section of the site (World, Politics, ...). Home is not a category: it spans them all."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True, help_text="Used in the section's web address.")
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
