"""A feed of an outlet, with its fetching state (what `feeds list` and the admin show)."""

from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from articles.models import Source
from articles.models.sources import http_url

DEFAULT_PORTS = {"http": 80, "https": 443}


def feed_url_problem(url: str) -> str | None:
    """What the fetcher would refuse in a feed address that the URL validator lets through (said when
    the feed is added, not at its first fetch), or None."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "Leave out the user name and password: addresses with them are not fetched."
    try:
        parts.port  # noqa: B018 (raises ValueError for a port out of 0-65535)
    except ValueError:
        return "The port must be a number from 1 to 65535."
    return None


def feed_address(url: str) -> str:
    """`url` as a feed is stored, so one feed is not added twice under two spellings: scheme and host
    in lower case, no default port, no #fragment (never sent), "/" for an empty path. The path and
    query are kept as written (a server may tell their case apart)."""
    url = url.strip()
    parts = urlsplit(url)
    if feed_url_problem(url) or not parts.hostname:
        return url  # the validators say what is wrong with it
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


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

    def clean(self):
        problem = feed_url_problem(self.url or "")
        if problem:
            raise ValidationError({"url": problem})
        # Before validate_unique, which full_clean runs next: a second spelling of a feed is a duplicate.
        self.url = feed_address(self.url or "")
