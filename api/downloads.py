"""Bulk downloads of the open data, streamed: outlets with their ratings, and published stories with
their sources and balance, as CSV and as JSON, each with its licence (settings.NEWSAPP_DATA_LICENCE_*)
in a `Link: <...>; rel="license"` header and, in JSON, in the document itself.

Rows are read a chunk at a time (api.datasets), so memory stays flat at a million stories. The ETag
is the content version with the newest live story's publish time (which moves when a scheduled story
goes live): a client holding the current file gets 304 without a row being read.
"""

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db.models import Max
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from api import datasets
from api.caching import conditional
from api.schema import THROTTLED
from articles.models import Article
from articles.site.cache import surrogate
from articles.site.cache.pagecache import cache_control, content_version, keep_seconds

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
RATING_FIELDS = ("lean", "effective_from", "rater", "rater_kind", "method", "confidence", "note", "link")
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


def _blank(value):
    return "" if value is None else value


def outlet_rows(site: str) -> Iterator[list]:
    """One row per rating (the outlet's columns repeated); an outlet with none has one row."""
    for outlet in datasets.outlets(site):
        head = [outlet[name] or "" for name in ("slug", "name", "domain", "homepage", "country", "lean")]
        if not outlet["ratings"]:
            yield [*head, *[""] * 8]
        for r in outlet["ratings"]:
            yield [*head, *(r[name] for name in RATING_FIELDS)]


def story_rows(site: str) -> Iterator[list]:
    """One row per cited source (the story's columns repeated); a story citing none has one row."""
    for story in datasets.stories(site):
        balance = story["balance"] or {}
        head = [
            *(_blank(story[name]) for name in ("id", "url", "title", "section", "published_at", "updated")),
            story["ai_summary"], *(_blank(balance.get(name)) for name in BALANCE_FIELDS),
        ]  # fmt: skip
        if not story["sources"]:
            yield [*head, *[""] * 6]
        for c in story["sources"]:
            outlet = c["outlet"]
            yield [
                *head,
                outlet["slug"],
                outlet["name"],
                outlet["domain"],
                c["url"],
                c["title"],
                c["wire_copy"],
            ]


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
    "outlets.json": ("application/json", False, lambda site: as_json("outlets", datasets.outlets(site))),
    "stories.csv": ("text/csv; charset=utf-8", True, lambda site: as_csv(STORY_COLUMNS, story_rows(site))),
    "stories.json": ("application/json", True, lambda site: as_json("stories", datasets.stories(site))),
}  # fmt: skip


def _etag(name: str, *, live: bool) -> str:
    parts = [name, content_version(), timezone.localdate().isoformat()]
    if live:
        newest = Article.objects.published().aggregate(newest=Max("published_at"))["newest"]
        parts.append(newest.isoformat() if newest else "")
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
        if settings.NEWSAPP_PAGE_CACHE_SECONDS:  # as the pages and the rest of the API
            # Not past the next scheduled story, as the pages: its going live changes the data.
            response["Cache-Control"] = cache_control(int(keep_seconds(content_version())))
            response[surrogate.HEADER] = surrogate.API  # purged from a caching proxy by any change
        return conditional(request, response, etag=etag, stamp=None)
