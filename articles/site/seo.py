"""What search engines and social networks read: canonical URL, description, Open Graph, Twitter
cards and a schema.org NewsArticle, all built from data the page already loaded (no extra query)."""

from django.conf import settings
from django.core.files.storage import default_storage
from django.templatetags.static import static

from articles.site.paging import MAX_PAGE_DIGITS


def canonical_url(request) -> str:
    """The page's own address: no query string, except a page number past the first."""
    url = request.build_absolute_uri(request.path)
    page = request.GET.get("page", "").strip()
    # isascii: "²" and "١٢" are digits to Python but not page numbers (int() would raise), nor is
    # a number too long to be one (int() refuses over 4,300 digits).
    if page.isascii() and page.isdigit() and len(page) <= MAX_PAGE_DIGITS and int(page) > 1:
        url = f"{url}?page={int(page)}"
    return url


def _absolute(request, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else request.build_absolute_uri(url)


def lead_image(request, article) -> dict | None:
    """The biggest JPEG rendition (social networks want at least 1200 px where there is one)."""
    # Not only the named widths: a picture narrower than 1440 px closes its set at its own width.
    sizes = [entry for name, entry in article.renditions.items() if name != "thumb"]
    if not sizes:
        return None
    entry = max(sizes, key=lambda e: e["w"])
    return {
        "url": _absolute(request, default_storage.url(entry["jpg"])),
        "width": entry["w"],
        "height": entry["h"],
        "alt": article.image_alt,
    }


def default_image(request) -> dict:
    return {
        "url": _absolute(request, static("img/og-default.png")),
        "width": 1200,
        "height": 630,
        "alt": settings.NEWSAPP_SITE_NAME,
    }


def page_meta(request, *, title: str, description: str, article=None) -> dict:
    meta = {
        "title": title,
        "description": description,
        "type": "article" if article else "website",
        "image": (lead_image(request, article) if article else None) or default_image(request),
    }
    if article:
        meta.update(
            published=article.published_at,
            modified=article.last_modified,
            section=article.category.name,
        )
    return meta


def news_article(request, article, citations, corrections=()) -> dict | None:
    """schema.org NewsArticle; isBasedOn lists the original pieces the story was drawn from, correction
    the public corrections (CorrectionComment) made since it went live."""
    if article.published_at is None:  # an unscheduled draft, seen in preview
        return None
    image = lead_image(request, article)
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title[:110],
        "description": article.excerpt,
        "mainEntityOfPage": canonical_url(request),
        "datePublished": article.published_at.isoformat(),
        "dateModified": article.last_modified.isoformat(),
        "articleSection": article.category.name,
        "publisher": {
            "@type": "Organization",
            "name": settings.NEWSAPP_SITE_NAME,
            "logo": {"@type": "ImageObject", "url": _absolute(request, static("img/favicon.svg"))},
        },
        "isBasedOn": [citation.url for citation in citations],
    }
    if corrections:
        data["correction"] = [
            {"@type": "CorrectionComment", "text": c.note, "datePublished": c.created_at.isoformat()}
            for c in corrections
        ]
    if image:
        data["image"] = {
            "@type": "ImageObject",
            "url": image["url"],
            "width": image["width"],
            "height": image["height"],
        }
    return data
