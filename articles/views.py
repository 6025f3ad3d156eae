"""Public pages. Every query goes through Article.objects.published(); counts stay fixed per page."""

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe

from .context_processors import nav_sections
from .models import Article, ArticleSource, Category, Source

SECTION_PAGE_SIZE = 20
HOME_LATEST = 12
HOME_PER_SECTION = 4


def paginate(request, queryset, per_page):
    """A page of results; a page number that is not a positive whole number in range is a 404."""
    paginator = Paginator(queryset, per_page)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except (PageNotAnInteger, EmptyPage) as exc:
        raise Http404("No such page.") from exc


@require_safe
def home(request):
    published = Article.objects.published().for_cards()
    # The newest featured story leads; without one, the newest story.
    lead = published.order_by("-featured", "-published_at", "-pk").first()
    rest = published.exclude(pk=lead.pk) if lead else published
    latest = list(rest[:HOME_LATEST])
    sections = [
        (category, list(rest.filter(category=category)[:HOME_PER_SECTION]))
        for category in nav_sections(request)
    ]
    return render(request, "articles/home.html", {"lead": lead, "latest": latest, "sections": sections})


@require_safe
def section(request, section):
    category = get_object_or_404(Category, slug=section)
    page = paginate(
        request, Article.objects.published().filter(category=category).for_cards(), SECTION_PAGE_SIZE
    )
    return render(
        request,
        "articles/section.html",
        {"category": category, "page": page, "current_section": category.slug},
    )


def article_context(article: Article) -> dict:
    citations = list(article.article_sources.select_related("source"))
    return {
        "article": article,
        "citations": citations,
        "rating": getattr(article, "bias_rating", None),
        "current_section": article.category.slug,
    }


@require_safe
def article(request, section, slug):
    article = get_object_or_404(
        Article.objects.published().select_related("category", "bias_rating"), slug=slug
    )
    if article.category.slug != section:
        return redirect(article, permanent=True)
    return render(request, "articles/article_detail.html", article_context(article))


@require_safe
def source(request, slug):
    outlet = get_object_or_404(Source, slug=slug)
    # An IN subquery, not EXISTS: SQLite plans EXISTS as a scan per story (100x slower here).
    cited = ArticleSource.objects.filter(source=outlet).values("article_id")
    page = paginate(request, Article.objects.published().filter(pk__in=cited).for_cards(), SECTION_PAGE_SIZE)
    return render(request, "articles/source_detail.html", {"source": outlet, "page": page})
