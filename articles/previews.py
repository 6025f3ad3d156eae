"""Previews of stories readers cannot see yet: the staff preview and share links for outsiders.

A share link is a PreviewLink row. Its address carries the row's id signed with a salt used for
nothing else, so nobody can forge one or walk through the ids; the row decides whether the link
still works (its expiry, its revocation), so an editor can withdraw it at any time.
"""

from datetime import timedelta

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_safe

from accounts.throttle import limit_wrong_guesses

from . import services
from .cards import render_cards
from .models import Article, PreviewLink
from .views import article_context, related_stories

SALT = "articles.previews.share-link"


def _signer() -> signing.Signer:
    # "." rather than the default ":" keeps the token to URL-unreserved characters (RFC 3986), which no
    # mail or chat program escapes or cuts.
    return signing.Signer(salt=SALT, sep=".")


# How long a new link works, as offered to editors (key: (lifetime, label)).
LIFETIMES = {
    "1h": (timedelta(hours=1), "1 hour"),
    "1d": (timedelta(days=1), "1 day"),
    "3d": (timedelta(days=3), "3 days"),
    "7d": (timedelta(days=7), "7 days"),
}
MAX_LIFETIME = timedelta(days=7)

ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"


def link_token(link: PreviewLink) -> str:
    return _signer().sign(str(link.pk))


def link_url(request, link: PreviewLink) -> str:
    return request.build_absolute_uri(reverse("articles:shared_preview", kwargs={"token": link_token(link)}))


def link_from_token(token: str) -> PreviewLink | None:
    """The link a token names, or None when it is tampered with, malformed or its row is gone."""
    try:
        pk = int(_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    related = ("article__category", "article__bias_rating")
    return PreviewLink.objects.select_related(*related).filter(pk=pk).first()


def link_state(link: PreviewLink, now=None) -> str:
    if link.revoked_at is not None:
        return REVOKED
    return ACTIVE if link.is_active(now) else EXPIRED


def preview_link_create(*, article: Article, user, lifetime: timedelta, label: str = "") -> PreviewLink:
    """Share a preview of a story that is not live yet; only users who may publish can."""
    if not services.can_publish(user):
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
    if not services.can_publish(user):
        raise PermissionDenied("Only editors can revoke preview links.")
    now = timezone.now()
    # One conditional UPDATE: two editors revoking at once cannot both record a time.
    revoked = PreviewLink.objects.filter(pk=link.pk, revoked_at__isnull=True, expires_at__gt=now).update(
        revoked_at=now
    )
    if revoked:
        link.revoked_at = now
    return bool(revoked)


def _private(response):
    """Kept by no cache (the page cache skips no-store too), and out of search engines."""
    add_never_cache_headers(response)
    patch_cache_control(response, private=True, no_store=True)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def render_preview(request, article: Article, *, link: PreviewLink | None = None) -> TemplateResponse:
    """The article page as readers would see it, with a banner; `link` when opened from a share link.

    The related stories come from the public queries, so a preview never shows another unpublished story.
    """
    context = article_context(request, article)
    source_ids = [citation.source_id for citation in context["citations"]]
    related = render_cards(related_stories(article, source_ids))
    context.update(preview=True, preview_link=link, related_cards=[story.card for story in related])
    response = TemplateResponse(request, "articles/article_detail.html", context)
    return _private(response)


def _unavailable(request, status: int) -> TemplateResponse:
    response = TemplateResponse(
        request, "articles/preview_unavailable.html", {"gone": status == 410}, status=status
    )
    return _private(response)


@require_safe
@limit_wrong_guesses
def shared_preview(request, token: str):
    """The preview behind a share link, for someone without a login.

    Tampered, malformed or unknown tokens get a 404 that says nothing more, and count as a wrong
    guess against the client's address: past the limit, 429 (accounts.throttle). An expired or revoked
    link answers 410 Gone: only someone holding a genuine link can see that answer, and it tells
    them to ask for a new link rather than to check the address. Once the story is live, the link
    leads to its public page.
    """
    response = _shared_preview_response(request, link_from_token(token))
    # The token is in the address: never hand it on to another site (the sources' links).
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _shared_preview_response(request, link: PreviewLink | None):
    if link is None:
        return _unavailable(request, status=404)
    if not link.is_active():
        return _unavailable(request, status=410)
    if link.article.is_published():
        return _private(redirect(link.article))
    return render_preview(request, link.article, link=link)
