"""A piece: one item of an outlet's feed, with the main text read from its page."""

from django.db import models

from articles.models import Source

from .feeds import Feed


class Piece(models.Model):
    class Extraction(models.TextChoices):
        PAGE = "page", "Main text of the article page"
        FEED = "feed", "The feed's own text (page not read: robots.txt, an error or not HTML)"

    outlet = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="pieces")
    feed = models.ForeignKey(Feed, on_delete=models.SET_NULL, null=True, blank=True, related_name="pieces")
    # Canonical: scheme and host lower-cased, tracking parameters and fragment removed
    # (newsdesk.pieces.canonical_url); the same piece is stored once whichever feed lists it.
    url = models.URLField(max_length=1000, unique=True)
    title = models.CharField(max_length=500)
    author = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(db_index=True)
    language = models.CharField(max_length=16, blank=True)
    image_url = models.URLField("lead picture", max_length=1000, blank=True)
    text = models.TextField(blank=True)
    extraction = models.CharField(max_length=8, choices=Extraction, default=Extraction.FEED)
    # 64-bit SimHash of the text, stored signed (a BigIntegerField); near-identical texts differ in
    # a few bits (newsdesk.pieces.fingerprint).
    fingerprint = models.BigIntegerField(default=0, db_index=True)
    # Set when this piece's text is a near-identical copy of an earlier piece by another outlet
    # (a wire story syndicated): it is shown, but counted once in any balance, as its original.
    copy_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies"
    )
    candidate = models.ForeignKey(
        "Candidate", on_delete=models.SET_NULL, null=True, blank=True, related_name="pieces"
    )
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_at", "pk"]
        indexes = [models.Index(fields=["candidate", "published_at"])]

    def __str__(self):
        return self.title
