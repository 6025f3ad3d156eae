"""Bulk downloads of the open data, streamed: outlets with their ratings, and published stories with
their sources and balance, as CSV and as JSON, each with its licence (settings.NEWSAPP_DATA_LICENCE_*)
in a `Link: <...>; rel="license"` header and, in JSON, in the document itself.

Rows are read a chunk at a time (iterator(chunk_size=...), the chunk's citations or ratings prefetched
with it), so memory stays flat at a million stories. The ETag is the content version with the newest
live story's publish time (which moves when a scheduled story goes live): a client holding the
current file gets 304 without a row being read.
"""

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db.models import Max, Prefetch
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from api.caching import conditional, public_cache_control
from api.schema import THROTTLED
from articles.models import Article, ArticleSource, Source, SourceRating
from articles.site.cache.pagecache import content_version

CHUNK = 2000

OUTLET_COLUMNS = [
    "outlet_slug",
    "outlet_name",
    "domain",
    "homepage",
    "country",
    "current_lean",
    "rating_lean",
    "effective_from",
    "rater",
    "rater_kind",
    "method",
    "confidence",
    "note",
    "link",
]
BALANCE_FIELDS = [
    "left",
    "center",
    "right",
    "method",
    "as_of",
    "outlets_left",
    "outlets_center",
    "outlets_right",
    "unrated",
]
STORY_COLUMNS = [
    "story_id",
    "url",
    "title",
    "section",
    "published_at",
    "updated",
    "ai_summary",
    "balance_left",
    "balance_center",
    "balance_right",
    "balance_method",
    "balance_as_of",
    "outlets_left",
    "outlets_center",
    "outlets_right",
    "unrated",
    "outlet_slug",
    "outlet_name",
    "outlet_domain",
    "source_url",
    "source_title",
    "wire_copy",
]


def licence() -> dict:
    return {"name": settings.NEWSAPP_DATA_LICENCE_NAME, "url": settings.NEWSAPP_DATA_LICENCE_URL or None}


class _Line:
    """A file-like object for csv.writer that hands back what it was given."""

    def write(self, value: str) -> str:
        return value


def _blank_if_none(value):
    return "" if value is None else value


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _outlets() -> Iterator[Source]:
    ratings = SourceRating.objects.order_by("-effective_from")
    return (
        Source.objects.defer("logo_small", "description")
        .prefetch_related(Prefetch("ratings", queryset=ratings))
        .order_by("slug")
        .iterator(chunk_size=CHUNK)
    )


def _stories() -> Iterator[Article]:
    citations = ArticleSource.objects.select_related("source").only(
        "article_id",
        "url",
        "title",
        "wire_copy",
        "position",
        "source__slug",
        "source__name",
        "source__domain",
    )
    return (
        Article.objects.published()
        .select_related("category", "bias_rating")
        .only(
            "id",
            "slug",
            "title",
            "published_at",
            "modified_at",
            "ai_summary",
            "category__slug",
            *(f"bias_rating__{name}" for name in BALANCE_FIELDS if name != "unrated"),
            "bias_rating__unrated_sources",
        )
        .prefetch_related(Prefetch("article_sources", queryset=citations))
        .order_by("-published_at", "-id")
        .iterator(chunk_size=CHUNK)
    )


def _rating_json(rating: SourceRating) -> dict:
    return {
        "lean": rating.lean, "effective_from": _iso(rating.effective_from), "rater": rating.rater,
        "rater_kind": rating.rater_kind, "method": rating.method, "confidence": rating.confidence,
        "note": rating.note, "link": rating.link,
    }  # fmt: skip


def _outlet_json(outlet: Source, site: str) -> dict:
    return {
        "slug": outlet.slug, "name": outlet.name, "domain": outlet.domain, "homepage": outlet.homepage,
        "country": outlet.country.code or None, "lean": outlet.bias, "url": site + outlet.get_absolute_url(),
        "ratings": [_rating_json(rating) for rating in outlet.ratings.all()],
    }  # fmt: skip


def _balance(story: Article) -> dict | None:
    rating = getattr(story, "bias_rating", None)
    if rating is None:
        return None
    return {
        "left": rating.left, "center": rating.center, "right": rating.right, "method": rating.method,
        "as_of": _iso(rating.as_of) or None, "outlets_left": rating.outlets_left,
        "outlets_center": rating.outlets_center, "outlets_right": rating.outlets_right,
        "unrated": rating.unrated_sources,
    }  # fmt: skip


def _story_json(story: Article, site: str) -> dict:
    return {
        "id": story.pk, "url": site + story.get_absolute_url(), "title": story.title,
        "section": story.category.slug, "published_at": _iso(story.published_at),
        "updated": _iso(story.modified_at) or None, "ai_summary": story.ai_summary,
        "balance": _balance(story),
        "sources": [
            {"outlet": {"slug": c.source.slug, "name": c.source.name, "domain": c.source.domain},
             "url": c.url, "title": c.title, "wire_copy": c.wire_copy}
            for c in story.article_sources.all()
        ],
    }  # fmt: skip


def outlet_rows(site: str) -> Iterator[list]:
    """One row per rating (the outlet's columns repeated); an outlet with none has one row."""
    for outlet in _outlets():
        head = [outlet.slug, outlet.name, outlet.domain, outlet.homepage, outlet.country.code, outlet.bias]
        ratings = list(outlet.ratings.all())
        if not ratings:
            yield [*head, *[""] * 8]
        for r in ratings:
            yield [*head, r.lean, _iso(r.effective_from), r.rater, r.rater_kind, r.method, r.confidence,
                   r.note, r.link]  # fmt: skip


def story_rows(site: str) -> Iterator[list]:
    """One row per cited source (the story's columns repeated); a story citing none has one row."""
    for story in _stories():
        balance = _balance(story) or {}
        head = [
            story.pk, site + story.get_absolute_url(), story.title, story.category.slug,
            _iso(story.published_at), _iso(story.modified_at), story.ai_summary,
            *(_blank_if_none(balance.get(name)) for name in BALANCE_FIELDS),
        ]  # fmt: skip
        citations = list(story.article_sources.all())
        if not citations:
            yield [*head, *[""] * 6]
        for c in citations:
            yield [*head, c.source.slug, c.source.name, c.source.domain, c.url, c.title, c.wire_copy]


def as_csv(columns: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow(row)


def as_json(name: str, items: Iterable[dict]) -> Iterator[str]:
    """{"licence": ..., "<name>": [...]}, an item at a time."""
    yield '{"licence": ' + json.dumps(licence()) + f', "{name}": ['
    for n, item in enumerate(items):
        yield ("," if n else "") + "\n" + json.dumps(item, ensure_ascii=False)
    yield "\n]}\n"


DOWNLOADS = {
    # name: (what it holds, its ETag also moves with live stories, its content)
    "outlets.csv": ("text/csv; charset=utf-8", False, lambda site: as_csv(OUTLET_COLUMNS, outlet_rows(site))),
    "outlets.json": ("application/json", False,
                     lambda site: as_json("outlets", (_outlet_json(o, site) for o in _outlets()))),
    "stories.csv": ("text/csv; charset=utf-8", True, lambda site: as_csv(STORY_COLUMNS, story_rows(site))),
    "stories.json": ("application/json", True,
                     lambda site: as_json("stories", (_story_json(s, site) for s in _stories()))),
}  # fmt: skip


def _etag(name: str, *, live: bool) -> str:
    parts = [name, content_version(), timezone.localdate().isoformat()]
    if live:
        newest = Article.objects.published().aggregate(newest=Max("published_at"))["newest"]
        parts.append(_iso(newest))
    return f'"{hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()}"'


class AnyAccept(BaseContentNegotiation):
    """A download is what its name says (CSV or JSON), whatever the client's Accept header; errors
    (429) are JSON."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DownloadView(APIView):
    """A whole data set in one file, streamed; throttled like every API request."""

    content_negotiation_class = AnyAccept

    @extend_schema(
        summary="A bulk download",
        description="outlets.csv and outlets.json: every outlet with its ratings; stories.csv and "
        "stories.json: every published story with its sources and balance. The licence is in the "
        'Link header (rel="license") and in the JSON.',
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="CSV, one row per rating or per cited source."
            ),
            (200, "application/json"): OpenApiResponse(
                response=OpenApiTypes.OBJECT, description="JSON: the licence and the items."
            ),
            429: THROTTLED,
        },
    )
    def get(self, request, name: str):
        content_type, live, content = DOWNLOADS[name]
        etag = _etag(name, live=live)
        response = StreamingHttpResponse(
            content(request.build_absolute_uri("/")[:-1]), content_type=content_type
        )
        response["Content-Disposition"] = f'attachment; filename="newsapp-{name}"'
        if settings.NEWSAPP_DATA_LICENCE_URL:
            response["Link"] = f'<{settings.NEWSAPP_DATA_LICENCE_URL}>; rel="license"'
        response["ETag"] = etag
        response["Cache-Control"] = public_cache_control(
            settings.NEWSAPP_PUBLIC_CACHE_CONTROL.get("max_age", 0)
        )
        return conditional(request, response, etag=etag, stamp=None)
