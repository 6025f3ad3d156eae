"""Previews of stories readers cannot see yet, as pages: the staff preview and the page behind a
share link (its token: models.PreviewLink; making and revoking links: articles.newsroom.previews).
"""

from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_safe

from accounts.throttle import limit_wrong_guesses
from articles.models import Article, PreviewLink
from articles.site.cache.cards import render_cards
from articles.site.views import article_context, related_stories


def link_url(request, link: PreviewLink) -> str:
    """The address a share link is sent as."""
    return request.build_absolute_uri(reverse("articles:shared_preview", kwargs={"token": link.token}))


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
    response = _shared_preview_response(request, PreviewLink.from_token(token))
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
