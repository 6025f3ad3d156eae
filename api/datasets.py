"""The open data sets as plain dicts, read a chunk at a time for the bulk downloads (api.downloads).

Plain values (values()), not model instances: a prefetched instance and its related rows refer to
each other, and such cycles wait for the garbage collector, so memory crept up with the archive.
Each chunk is one query for its rows (a single query, read in chunks) and one for their citations
or ratings: memory stays flat and queries grow by one per CHUNK rows, at a million stories too.
"""

from collections import defaultdict
from collections.abc import Iterator
from itertools import islice

from django.db.models import F
from django.urls import reverse

from articles.models import Article, ArticleSource, Source, SourceRating

CHUNK = 2000
RATING_FIELDS = ("lean", "effective_from", "rater_kind", "rater_name", "method", "confidence", "note", "link")
BALANCE = ("left", "center", "right", "method", "as_of", "outlets_left", "outlets_center", "outlets_right")


def _chunks(rows) -> Iterator[list[dict]]:
    iterator = rows.iterator(chunk_size=CHUNK)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def outlets(site: str) -> Iterator[dict]:
    """Every outlet with its ratings newest first, as /api/v1/outlets/ has them (less country_name)."""
    rows = Source.objects.order_by("slug").values(
        "id", "slug", "name", "domain", "homepage", "country", "bias"
    )
    for chunk in _chunks(rows):
        ratings = defaultdict(list)
        found = SourceRating.objects.filter(source_id__in=[row["id"] for row in chunk]).order_by(
            "source_id", "-effective_from"
        )
        for rating in found.values("source_id", *RATING_FIELDS):
            rater = SourceRating(rater_kind=rating["rater_kind"], rater_name=rating["rater_name"]).rater
            ratings[rating["source_id"]].append({
                "lean": rating["lean"], "effective_from": _iso(rating["effective_from"]), "rater": rater,
                "rater_kind": rating["rater_kind"], "method": rating["method"],
                "confidence": rating["confidence"], "note": rating["note"], "link": rating["link"],
            })  # fmt: skip
        for row in chunk:
            yield {
                "slug": row["slug"], "name": row["name"], "domain": row["domain"],
                "homepage": row["homepage"], "country": row["country"] or None, "lean": row["bias"],
                "url": site + reverse("articles:source", kwargs={"slug": row["slug"]}),
                "ratings": ratings[row["id"]],
            }  # fmt: skip


def stories(site: str) -> Iterator[dict]:
    """Every published story, newest first, with its balance and sources as /api/v1/stories/ has them
    (less the summary; the section by its slug)."""
    balance = {name: F(f"bias_rating__{name}") for name in BALANCE}
    rows = (
        Article.objects.published()
        .order_by("-published_at", "-id")
        .values("id", "slug", "title", "published_at", "modified_at", "ai_summary",
                section=F("category__slug"), rated=F("bias_rating__article_id"),
                unrated=F("bias_rating__unrated_sources"), **balance)
    )  # fmt: skip
    for chunk in _chunks(rows):
        sources = defaultdict(list)
        found = ArticleSource.objects.filter(article_id__in=[row["id"] for row in chunk]).order_by(
            "article_id", "position", "pk"
        )
        fields = ("url", "title", "wire_copy", "source__slug", "source__name", "source__domain")
        for cited in found.values("article_id", *fields):
            sources[cited["article_id"]].append({
                "outlet": {"slug": cited["source__slug"], "name": cited["source__name"],
                           "domain": cited["source__domain"]},
                "url": cited["url"], "title": cited["title"], "wire_copy": cited["wire_copy"],
            })  # fmt: skip
        for row in chunk:
            path = reverse("articles:article", kwargs={"section": row["section"], "slug": row["slug"]})
            yield {
                "id": row["id"], "url": site + path, "title": row["title"], "section": row["section"],
                "published_at": _iso(row["published_at"]), "updated": _iso(row["modified_at"]),
                "ai_summary": row["ai_summary"],
                "balance": None if row["rated"] is None else {
                    **{name: row[name] for name in BALANCE}, "as_of": _iso(row["as_of"]),
                    "unrated": row["unrated"],
                },
                "sources": sources[row["id"]],
            }  # fmt: skip
