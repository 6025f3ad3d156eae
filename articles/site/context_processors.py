from django.conf import settings
from django.utils.functional import SimpleLazyObject

from articles.models import Category
from articles.site.cache import fragments
from articles.site.seo import canonical_url


def nav_sections(request) -> list[Category]:
    """The sections in navigation order, fetched once per request."""
    if not hasattr(request, "_nav_sections"):
        if fragments.enabled():
            request._nav_sections = fragments.memo.get_or_compute(request, "nav", _sections)
        else:
            request._nav_sections = _sections()
    return request._nav_sections


def _sections() -> list[Category]:
    return list(Category.objects.all())


def site(request):
    """Site name, the AI note and the section navigation (one query, made only when a page uses it)."""
    return {
        "site_name": settings.NEWSAPP_SITE_NAME,
        "ai_note": settings.NEWSAPP_AI_NOTE,
        "nav_sections": SimpleLazyObject(lambda: nav_sections(request)),
        "canonical_url": SimpleLazyObject(lambda: canonical_url(request)),
    }
