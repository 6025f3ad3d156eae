"""Share links: an Editor lets someone without a login read a story that is not live yet.

A link is a PreviewLink row (its signed token and state: articles.models); the row decides whether
it still works, so an editor can withdraw it at any time. The page behind it: articles.site.previews.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from articles.models import Article, PreviewLink
from articles.permissions import can_publish

# How long a new link works, as offered to editors (key: (lifetime, label)).
LIFETIMES = {
    "1h": (timedelta(hours=1), "1 hour"),
    "1d": (timedelta(days=1), "1 day"),
    "3d": (timedelta(days=3), "3 days"),
    "7d": (timedelta(days=7), "7 days"),
}
MAX_LIFETIME = timedelta(days=7)


def preview_link_create(*, article: Article, user, lifetime: timedelta, label: str = "") -> PreviewLink:
    """Share a preview of a story that is not live yet; only users who may publish can."""
    if not can_publish(user):
        raise PermissionDenied("Only editors can share previews.")
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValidationError("A preview link can work for at most 7 days.", code="lifetime")
    if article.is_published():
        raise ValidationError(
            "This story is already live: share its public address instead.", code="published"
        )
    now = timezone.now()
    link = PreviewLink(article=article, label=label.strip(), created_by=user, created_at=now)
    link.expires_at = now + lifetime
    link.full_clean()
    link.save()
    return link


def preview_link_revoke(*, link: PreviewLink, user) -> bool:
    """Withdraw a link at once. False when it had already stopped working (nothing changes then)."""
    if not can_publish(user):
        raise PermissionDenied("Only editors can revoke preview links.")
    now = timezone.now()
    # One conditional UPDATE: two editors revoking at once cannot both record a time.
    revoked = PreviewLink.objects.filter(pk=link.pk, revoked_at__isnull=True, expires_at__gt=now).update(
        revoked_at=now
    )
    if revoked:
        link.revoked_at = now
    return bool(revoked)
