"""What the newsroom keeps beside its stories: corrections, share links and the content version."""

from django.conf import settings
from django.core import signing
from django.db import models
from django.utils import timezone

from articles.models.stories import Article


class Correction(models.Model):
    """A public note of what was corrected in a live story, listed under it on the article page."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="corrections")
    note = models.TextField(help_text="Shown to readers under the story, with its date.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"Correction of {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class PreviewLink(models.Model):
    """A signed, expiring, revocable address that shows one draft's preview without a login."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="preview_links")
    label = models.CharField(
        max_length=120, blank=True, help_text="Who the link is for, to recognise it later (optional)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.label or f"Preview link {self.pk}"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now

    def current_state(self, now=None) -> str:
        if self.revoked_at is not None:
            return self.REVOKED
        return self.ACTIVE if self.is_active(now) else self.EXPIRED

    # The link's address carries its id signed with a salt used for nothing else: nobody can forge
    # one or walk through the ids. The salt keeps the name it was first published under (changing
    # it would break every link already sent).
    SALT = "articles.previews.share-link"
    ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"

    @classmethod
    def _signer(cls) -> signing.Signer:
        # "." rather than the default ":" keeps the token to URL-unreserved characters (RFC 3986),
        # which no mail or chat program escapes or cuts.
        return signing.Signer(salt=cls.SALT, sep=".")

    @property
    def token(self) -> str:
        return self._signer().sign(str(self.pk))

    @classmethod
    def from_token(cls, token: str) -> "PreviewLink | None":
        """The link a token names, or None when it is tampered with, malformed or its row is gone."""
        try:
            pk = int(cls._signer().unsign(token))
        except (signing.BadSignature, ValueError):
            return None
        related = ("article__category", "article__bias_rating")
        return cls.objects.select_related(*related).filter(pk=pk).first()


class ContentVersion(models.Model):
    """One row counting the changes to what readers see, written after each change commits.

    The shared cache keeps its own counter for instant invalidation; this one is the truth it is
    checked against (articles.site.cache.pagecache), so pages stay right when the cache was away during a save
    or when several processes keep caches of their own (the development server and a shell).
    """

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Content version {self.version}"
