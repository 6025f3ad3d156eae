"""Outlet ratings: an outlet's lean as a dated history, each rating with who made it, how and how sure.

A story's computed balance uses each cited outlet's rating in force on the story's publish date
(articles.newsroom.ratings), so a later rating does not rewrite what was published. Source.bias is
the rating in force today, kept beside the outlet for the many places that only need that.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from articles.models.sources import Source, http_url

# The values a rating may take: every lean but "unrated", which is the absence of a rating in force.
RATED_LEANS = [(value, label) for value, label in Source.Lean.choices if value != Source.Lean.UNRATED]


class SourceRating(models.Model):
    """One rating of an outlet's lean, in force from a date until the outlet's next rating."""

    class RaterKind(models.TextChoices):
        NEWSROOM = "newsroom", "The newsroom's own review"
        EXTERNAL = "external", "An external rater"

    class Confidence(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="ratings", verbose_name="outlet"
    )
    lean = models.CharField(max_length=12, choices=RATED_LEANS)
    effective_from = models.DateField(
        "in force from", help_text="The day the rating took effect: stories published from then on use it."
    )
    rater_kind = models.CharField("rated by", max_length=10, choices=RaterKind, default=RaterKind.NEWSROOM)
    rater_name = models.CharField(
        "rater's name",
        max_length=120,
        blank=True,
        help_text="The external rater, as readers should see it named. Required for an external rating.",
    )
    method = models.CharField(
        max_length=300,
        help_text="How the lean was judged, in a line readers will see, e.g. "
        "“editorial review of 40 recent articles” or “blind survey of readers”.",
    )
    confidence = models.CharField(max_length=6, choices=Confidence, default=Confidence.MEDIUM)
    note = models.TextField(blank=True)
    link = models.URLField("link", max_length=500, blank=True, validators=[http_url])
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["source", "-effective_from"]
        verbose_name = "outlet rating"
        constraints = [
            # One rating per outlet per day: which one is in force on a date is never ambiguous.
            models.UniqueConstraint(fields=["source", "effective_from"], name="sourcerating_one_per_day"),
            models.CheckConstraint(
                condition=~Q(rater_kind="external") | ~Q(rater_name=""), name="sourcerating_external_named"
            ),
        ]

    def __str__(self):
        return f"{self.source}: {self.get_lean_display()} from {self.effective_from:%Y-%m-%d}"

    def clean(self):
        errors = {}
        if self.effective_from and self.effective_from > timezone.localdate():
            # A rating takes effect when it is made: a future one would change stories' bars unseen.
            errors["effective_from"] = "A rating cannot take effect in the future; date it today or earlier."
        if self.rater_kind == self.RaterKind.EXTERNAL and not self.rater_name.strip():
            errors["rater_name"] = "Name the external rater: readers see who rated the outlet."
        if errors:
            raise ValidationError(errors)

    @property
    def rater(self) -> str:
        """Who rated, as readers see it."""
        if self.rater_kind == self.RaterKind.EXTERNAL:
            return self.rater_name
        return settings.NEWSAPP_SITE_NAME + " newsroom"
