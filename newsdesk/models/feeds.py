"""A feed of an outlet, with its fetching state (what `feeds list` and the admin show)."""

from datetime import timedelta

from django.db import models
from django.utils import timezone

from articles.models import Source
from articles.models.sources import http_url


class FeedQuerySet(models.QuerySet):
    def due(self, now=None):
        """Active feeds whose next fetch has come (a new feed is due at once)."""
        now = now or timezone.now()
        return self.filter(active=True).filter(
            models.Q(next_fetch_at__isnull=True) | models.Q(next_fetch_at__lte=now)
        )


class Feed(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "Not fetched yet"
        OK = "ok", "Fetched"
        NOT_MODIFIED = "not_modified", "Unchanged since the last fetch"
        ERROR = "error", "Failed"

    outlet = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="feeds")
    url = models.URLField("feed address", max_length=1000, unique=True, validators=[http_url])
    active = models.BooleanField(default=True, help_text="Inactive feeds are not fetched.")
    created_at = models.DateTimeField(auto_now_add=True)

    # What the outlet's server told us last time, sent back for a conditional request (304).
    etag = models.CharField(max_length=500, blank=True, editable=False)
    last_modified_header = models.CharField(max_length=100, blank=True, editable=False)

    last_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_status = models.CharField(max_length=16, choices=Status, default=Status.NEW, editable=False)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    error_count = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Failures in a row; the wait before the next try doubles with each.",
    )
    items_seen = models.PositiveIntegerField(default=0, editable=False, help_text="Items in the last fetch.")
    pieces_added = models.PositiveIntegerField(default=0, editable=False, help_text="New pieces, all time.")
    poll_interval = models.DurationField(
        default=timedelta(minutes=30),
        editable=False,
        help_text="How long between fetches: follows how often the feed publishes (5 minutes to 6 hours).",
    )
    next_fetch_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    # Held by the worker fetching this feed, so no two fetch it at once; a lease that expires if
    # the worker dies mid-fetch, so the feed is fetched again rather than stuck.
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)

    objects = FeedQuerySet.as_manager()

    class Meta:
        ordering = ["outlet__name", "url"]

    def __str__(self):
        return self.url
