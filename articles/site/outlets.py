"""The outlet directory (/sources/): every outlet with its lean today, its rating history and how often
our stories cited it lately.

A page costs the same few queries whatever the number of outlets and stories: the page of outlets (on
the name index, or the lean-and-name index when filtered), their ratings in one query, and their recent
story counts in one query over the last 30 days' stories (coverage's window, not the archive).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.exceptions import BadRequest
from django.db.models import CharField, F, OuterRef, Prefetch, StringAgg, Subquery, Value
from django.db.models.functions import Cast
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from articles.models import Article, ArticleSource, Source, SourceRating
from articles.site import seo
from articles.site.cache import surrogate
from articles.site.paging import Page, cached_count, page_number, url_with
from articles.templatetags.outlets import page_scale

PER_PAGE = 50
RECENT_DAYS = 30
LEANS = dict(Source.Lean.choices)
# What a directory row shows of an outlet: its description and logo stay in the database.
LISTED_FIELDS = ("name", "slug", "domain", "bias", "country")
TIMELINE_FIELDS = ("source_id", "lean", "effective_from", "rater_kind", "rater_name")


@dataclass(frozen=True)
class LeanChoice:
    value: str
    label: str
    url: str
    current: bool


def chosen_lean(request) -> str | None:
    """The ?lean= filter: one of the leans, or none. Anything else is the reader's mistake (400)."""
    raw = request.GET.get("lean", "").strip()
    if not raw:
        return None
    if raw not in LEANS:
        choices = ", ".join(LEANS)
        raise BadRequest(f"“{raw[:20]}” is not a lean: choose one of {choices}, or none for every outlet.")
    return raw


def recent_since(now: datetime) -> datetime:
    """The start of the last RECENT_DAYS days: today and the days before it, in the site's time zone,
    the window coverage.balance gives an outlet's share of each section (so the two agree)."""
    zone = timezone.get_default_timezone()
    first = timezone.localdate(now, zone) - timedelta(days=RECENT_DAYS - 1)
    return timezone.make_aware(datetime.combine(first, time.min), zone)


def recent_story_counts(source_ids, *, now: datetime | None = None) -> dict[int, int]:
    """Live stories citing each outlet in the last RECENT_DAYS days: one query over the window's
    stories (those citing none of these outlets left in the database), counted here.

    A story citing an outlet twice (two of its pieces) counts once.
    """
    if not source_ids:
        return {}
    now = now or timezone.now()
    wanted = set(source_ids)
    # Each story of the window with those of these outlets it cites, read by a scalar subquery, which
    # PostgreSQL and SQLite always run per story on the citations' story index: the rows read are the
    # last 30 days' whatever the archive and whatever the statistics. A join left the planner free to
    # start from these outlets' every citation (5,184 rows at 30,000 stories), or, with that path
    # closed, to hash all the citations of the archive (2.2 million at a million stories, 360 ms).
    # `source_id + 0`: no index holds it, so SQLite cannot walk an outlet's citations instead.
    cited = (
        ArticleSource.objects.filter(article=OuterRef("pk"))
        .annotate(outlet=F("source_id") + Value(0))
        .filter(outlet__in=wanted)
        .order_by()
        .values("article")
        .annotate(ids=StringAgg(Cast("source_id", CharField()), Value(",")))
        .values("ids")
    )
    rows = (
        Article.objects.filter(
            status=Article.Status.PUBLISHED, published_at__lte=now, published_at__gte=recent_since(now)
        )
        .annotate(cited=Subquery(cited))
        .filter(cited__isnull=False)
        .values_list("cited", flat=True)
    )
    counts = Counter()
    for ids in rows:
        counts.update({int(pk) for pk in ids.split(",")})  # two pieces of one story count once
    return dict(counts)


def outlet_page(request, outlets, *, scope: str) -> Page:
    """A numbered page of outlets (`outlets` in name order). Outlets are thousands, not millions: an
    OFFSET along the name index stays cheap, and their count is kept per content version."""
    number = page_number(request)
    total = cached_count(outlets, scope)
    num_pages = max(1, -(-total // PER_PAGE))
    if number > num_pages:
        raise Http404(f"There is no page {number}; this list has {num_pages}.")
    start = (number - 1) * PER_PAGE
    items = list(outlets[start : start + PER_PAGE])
    newer_url = url_with(request, page=number - 1 if number > 2 else None) if number > 1 else None
    older_url = url_with(request, page=number + 1) if number < num_pages else None
    return Page(items, number, num_pages, newer_url, older_url)


def lean_choices(request, lean: str | None) -> list[LeanChoice]:
    everything = LeanChoice("", "Every lean", url_with(request, lean=None, page=None), lean is None)
    return [everything] + [
        LeanChoice(value, label, url_with(request, lean=value, page=None), value == lean)
        for value, label in LEANS.items()
    ]


@require_safe
def directory(request):
    lean = chosen_lean(request)
    surrogate.add_keys(request, surrogate.OUTLETS)  # every outlet's change purges the directory
    outlets = Source.objects.only(*LISTED_FIELDS).order_by("name", "pk")
    if lean:
        outlets = outlets.filter(bias=lean)
    ratings = SourceRating.objects.only(*TIMELINE_FIELDS).order_by("effective_from")
    outlets = outlets.prefetch_related(Prefetch("ratings", queryset=ratings, to_attr="history"))
    page = outlet_page(request, outlets, scope=f"sources:{lean or 'all'}")
    counts = recent_story_counts([outlet.pk for outlet in page.object_list])
    for outlet in page.object_list:
        outlet.recent_stories = counts.get(outlet.pk, 0)
    title = f"{LEANS[lean]} outlets" if lean else "Outlets"
    meta = seo.page_meta(
        request,
        title=title,
        description="Every outlet our stories draw on: its lean today, its rating history, its country "
        "and how often we cited it lately.",
    )
    context = {
        "page": page,
        "lean": lean,
        "lean_label": LEANS.get(lean, ""),
        "leans": lean_choices(request, lean),
        "recent_days": RECENT_DAYS,
        # every row's timeline on one scale, so that a change drawn in one row compares with the others
        "scale": page_scale([outlet.history for outlet in page.object_list], timezone.localdate()),
        "title": title,
        "meta": meta,
    }
    return render(request, "articles/source_list.html", context)
