"""Sitemaps: an index of sections and stories (10,000 URLs a page, oldest first so pages stay put),
a Google News sitemap of the last 48 hours, and robots.txt pointing at both.

Every query is bounded: a page of the story sitemap is one count and one indexed slice, and the
index's per-page lastmod comes from one grouped query, never from loading every story.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import F, OuterRef, Subquery, Window
from django.db.models.functions import Greatest, RowNumber
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_safe

from .models import Article, Category

PAGE_SIZE = 10_000
NEWS_WINDOW = timedelta(hours=48)
NEWS_LIMIT = 1000  # Google News reads at most 1,000 URLs per sitemap


def _newest(stories, field: str):
    return Subquery(stories.order_by(f"-{field}").values(field)[:1])


def latest_change():
    """When the newest change to a live story happened: two index lookups.

    A scheduled story goes live without being saved, so its publish time counts as a change too.
    (MAX over an expression would read the whole archive; "newest first, take one" reads one row.)
    """
    live = Article.objects.published()
    edited = live.order_by("-updated_at").values_list("updated_at", flat=True).first()
    went_live = live.order_by("-published_at").values_list("published_at", flat=True).first()
    return max(filter(None, (edited, went_live)), default=None)


class SectionSitemap(Sitemap):
    changefreq = "hourly"

    def items(self):
        live = Article.objects.published().filter(category=OuterRef("pk"))
        return Category.objects.annotate(
            edited=_newest(live, "updated_at"), live=_newest(live, "published_at")
        ).order_by("position", "pk")

    def lastmod(self, category):
        return max(filter(None, (category.edited, category.live)), default=None)

    def get_latest_lastmod(self):
        return latest_change()


class SlicePaginator(Paginator):
    """Pages read by slicing alone: no COUNT(*) over the whole archive (a scan) to serve one page."""

    def page(self, number):
        number = self.validate_number_format(number)
        bottom = (number - 1) * self.per_page
        items = list(self.object_list[bottom : bottom + self.per_page])
        if not items and number > 1:
            raise EmptyPage("That page contains no results")
        return self._get_page(items, number, self)

    def validate_number_format(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger("That page number is not an integer") from exc
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number


class ArticleSitemap(Sitemap):
    limit = PAGE_SIZE

    @property
    def paginator(self):
        return SlicePaginator(self._items(), self.limit)

    def items(self):
        return (
            Article.objects.published()
            .select_related("category")
            .only("slug", "updated_at", "published_at", "category__slug")
            .order_by("published_at", "pk")
        )

    def lastmod(self, article):
        return max(article.updated_at, article.published_at)

    def get_latest_lastmod(self):
        return latest_change()


SITEMAPS = {"sections": SectionSitemap, "articles": ArticleSitemap}


def page_lastmods() -> list[datetime]:
    """The latest change on each page of the story sitemap, from one grouped query.

    Pages are numbered over the stories oldest first, so an edit touches the lastmod of its own
    page only and crawlers re-read just that page.
    """
    ranked = (
        Article.objects.published()
        .annotate(rn=Window(RowNumber(), order_by=[F("published_at").asc(), F("pk").asc()]))
        .annotate(changed=Greatest("updated_at", "published_at"))
        .values("changed", "rn")
    )
    inner, params = ranked.query.sql_with_params()
    sql = f"SELECT (rn - 1) / %s AS page, MAX(changed) FROM ({inner}) ranked GROUP BY page ORDER BY page"
    with connection.cursor() as cursor:
        cursor.execute(sql, (PAGE_SIZE, *params))
        rows = cursor.fetchall()
    lastmods = []
    for _page, value in rows:
        if isinstance(value, str):  # SQLite hands back text from a raw aggregate
            value = parse_datetime(value)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        lastmods.append(value)
    return lastmods


@require_safe
def sitemap_index(request):
    base = request.build_absolute_uri("/").rstrip("/")
    section_url = base + reverse("articles:sitemap", kwargs={"section": "sections"})
    entries = [(section_url, SectionSitemap().get_latest_lastmod())]
    article_url = base + reverse("articles:sitemap", kwargs={"section": "articles"})
    lastmods = page_lastmods() or [None]
    for page, lastmod in enumerate(lastmods, 1):
        entries.append((article_url if page == 1 else f"{article_url}?p={page}", lastmod))
    entries.append((base + reverse("articles:news_sitemap"), max(filter(None, lastmods), default=None)))
    return TemplateResponse(
        request, "sitemaps/index.xml", {"entries": entries}, content_type="application/xml; charset=utf-8"
    )


@require_safe
def news_sitemap(request):
    since = timezone.now() - NEWS_WINDOW
    stories = (
        Article.objects.published()
        .filter(published_at__gte=since)
        .select_related("category")
        .only("title", "slug", "published_at", "category__slug")
        .order_by("-published_at", "-pk")[:NEWS_LIMIT]
    )
    return TemplateResponse(
        request,
        "sitemaps/news.xml",
        {
            "stories": stories,
            "publication": settings.NEWSAPP_SITE_NAME,
            "base": request.build_absolute_uri("/")[:-1],
        },
        content_type="application/xml; charset=utf-8",
    )


@require_safe
def robots_txt(request):
    base = request.build_absolute_uri("/").rstrip("/")
    lines = [
        "User-agent: *",
        f"Disallow: {reverse('admin:index')}",
        f"Disallow: {reverse('articles:search')}",
        "",
        f"Sitemap: {base}{reverse('articles:sitemap_index')}",
        f"Sitemap: {base}{reverse('articles:news_sitemap')}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
