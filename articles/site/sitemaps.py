"""Sitemaps: an index of sections and stories (one story sitemap per month, UTC, so a page's content
stays put), a Google News sitemap of the last 48 hours, and robots.txt pointing at both.

Every query is bounded by an index, whatever the size of the archive: a month's page is one range
scan of that month, and the index's per-month lastmod is two index probes per month (the newest
edit through article_month_updated_idx, the newest publish time through article_live_idx), all in
one query. Counting or numbering the whole archive would read every row.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_safe

from articles.models import Article, Category
from articles.site.cache import surrogate

# The sitemap protocol's limit per file. A month holding more live stories than this (1,600 a day)
# continues on `?p=2`, which the index does not list: knowing which months overflow would mean
# counting every month, a read of the whole archive.
PAGE_SIZE = 50_000
MAX_PAGES = 1_000
NEWS_WINDOW = timedelta(hours=48)
NEWS_LIMIT = 1000  # Google News reads at most 1,000 URLs per sitemap
# Every sitemap says its encoding (django.contrib.sitemaps' view sends bare application/xml).
XML = "application/xml; charset=utf-8"


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
        if number > MAX_PAGES:  # past any real month (and an OFFSET the database would refuse)
            raise EmptyPage("That page contains no results")
        return number


def month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


class MonthSitemap(Sitemap):
    """The stories that went live in one UTC month, oldest first (up to PAGE_SIZE; `?p=2` beyond)."""

    limit = PAGE_SIZE

    def __init__(self, year: int, month: int):
        self.starts = month_start(year, month)
        self.ends = next_month(self.starts)

    @property
    def paginator(self):
        return SlicePaginator(self._items(), self.limit)

    def items(self):
        return (
            Article.objects.published()
            .filter(published_at__gte=self.starts, published_at__lt=self.ends)
            .select_related("category")
            .only("slug", "updated_at", "published_at", "category__slug")
            .order_by("published_at", "pk")
        )

    def lastmod(self, article):
        return max(article.updated_at, article.published_at)


SITEMAPS = {"sections": SectionSitemap}


@require_safe
def section_sitemap(request, section: str):
    """django.contrib.sitemaps' view (which answers any method) for the sitemaps in SITEMAPS."""
    surrogate.add_keys(request, surrogate.SITEMAPS)
    return sitemap_views.sitemap(request, SITEMAPS, section=section, content_type=XML)


def _months(first: datetime, last: datetime) -> list[datetime]:
    months, start = [], month_start(first.year, first.month)
    while start <= last:
        months.append(start)
        start = next_month(start)
    return months


def _aware(value):
    if isinstance(value, str):  # SQLite hands back text from raw SQL
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def visibility_sql(now: datetime) -> tuple[str, list]:
    """The conditions of Article.objects.published(now), compiled by the ORM into SQL on the stories
    table (no alias): the one rule of visibility, for the raw query below (tests/site/test_sitemaps.py
    checks that both pick the same stories)."""
    live = Article.objects.published(now=now)
    sql, params = live.query.get_compiler(connection=connection).compile(live.query.where)
    return sql, list(params)


def month_lastmods(now: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """[(month, its latest change)] for every UTC month holding a live story, oldest first.

    Two queries: the oldest live story (one index lookup), then, for each month since, the newest
    edit and the newest publish time among its live stories (two index probes a month). A scheduled
    story goes live without a save, so its publish time counts as a change too. Raw SQL because the
    months are a VALUES list the ORM cannot join to; its visibility comes from visibility_sql.
    """
    now = (now or timezone.now()).astimezone(UTC)
    live = Article.objects.published(now=now)
    first = live.order_by("published_at").values_list("published_at", flat=True).first()
    if first is None:
        return []
    months = _months(first.astimezone(UTC), now)
    table = connection.ops.quote_name(Article._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    visible, visible_params = visibility_sql(now)
    rows = ", ".join(["(%s, %s, %s)"] * len(months))
    sql = f"""
        WITH months (month, starts, ends) AS (VALUES {rows})
        SELECT month,
            (SELECT updated_at FROM {table}
              WHERE {visible} AND {table}.published_month = months.month
              ORDER BY updated_at DESC LIMIT 1),
            (SELECT published_at FROM {table}
              WHERE {visible} AND {table}.published_at >= months.starts AND {table}.published_at < months.ends
              ORDER BY published_at DESC LIMIT 1)
        FROM months ORDER BY month
    """
    params = [
        value
        for start in months
        for value in (start.year * 100 + start.month, adapt(start), adapt(next_month(start)))
    ]
    params += [*visible_params, *visible_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    by_key = {start.year * 100 + start.month: start for start in months}
    lastmods = []
    for key, edited, went_live in found:
        changes = [value for value in (_aware(edited), _aware(went_live)) if value is not None]
        if changes:
            lastmods.append((by_key[int(key)], max(changes)))
    return lastmods


@require_safe
def month_sitemap(request, year: str, month: str):
    if not 1 <= int(month) <= 12 or not 1970 <= int(year) < 9999:
        raise Http404("There is no such month.")
    surrogate.add_keys(request, surrogate.SITEMAPS)
    sitemap = {"month": MonthSitemap(int(year), int(month))}
    return sitemap_views.sitemap(request, sitemap, section="month", content_type=XML)


def month_path(when: datetime) -> str:
    """The address of the story sitemap holding stories that went live at `when`."""
    when = when.astimezone(UTC)
    kwargs = {"year": f"{when.year:04d}", "month": f"{when.month:02d}"}
    return reverse("articles:sitemap_month", kwargs=kwargs)


def month_url(base: str, start: datetime) -> str:
    return base + month_path(start)


@require_safe
def sitemap_index(request):
    surrogate.add_keys(request, surrogate.SITEMAPS)
    base = request.build_absolute_uri("/").rstrip("/")
    section_url = base + reverse("articles:sitemap", kwargs={"section": "sections"})
    entries = [(section_url, SectionSitemap().get_latest_lastmod())]
    months = month_lastmods()
    entries += [(month_url(base, start), lastmod) for start, lastmod in months]
    newest = max((lastmod for _, lastmod in months), default=None)
    entries.append((base + reverse("articles:news_sitemap"), newest))
    return TemplateResponse(request, "sitemaps/index.xml", {"entries": entries}, content_type=XML)


@require_safe
def news_sitemap(request):
    surrogate.add_keys(request, surrogate.SITEMAPS)
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
        content_type=XML,
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
