"""Search over published stories.

PostgreSQL: a stored tsvector (title weight A, summary B, source names C) with a GIN index, queried
with web-style syntax ("quoted phrases", -exclusions, OR), ranked, with a highlighted snippet.
SQLite: every word must appear in the title, the summary or a source's name; newest first.
The vector is written at save time (search_vector_refresh), never computed per query.
"""

import re
import unicodedata

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import F, OuterRef, Q, StringAgg, Subquery, TextField, Value
from django.db.models.functions import Coalesce
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .models import Article, ArticleSource

CONFIG = "english"
MAX_QUERY_LENGTH = 200
MAX_TERMS = 10
_MARK_START, _MARK_END = "\x02", "\x03"
_MARKDOWN_NOISE = re.compile(r"[*_#>`\[\]]|\]\([^)]*\)")


class QueryRejected(ValueError):
    """A query we will not run; the message is shown to the reader."""


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def clean_query(raw: str) -> str:
    """Normalise what a reader typed, or refuse it with a reason they can act on."""
    if "\x00" in raw:
        raise QueryRejected("Your search contains a character we cannot search for.")
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " \t")
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryRejected(
            f"Your search is {len(text)} characters long; please keep it under {MAX_QUERY_LENGTH}."
        )
    return text


def search_vector_refresh(article_ids) -> None:
    """Rewrite the stored search vectors of these stories (PostgreSQL only; SQLite searches live)."""
    if not is_postgres():
        return
    names = (
        ArticleSource.objects.filter(article=OuterRef("pk"))
        .values("article")
        .annotate(names=StringAgg("source__name", delimiter=Value(" ")))
        .values("names")
    )
    Article.objects.filter(pk__in=article_ids).update(
        search_vector=SearchVector("title", weight="A", config=CONFIG)
        + SearchVector("summary", weight="B", config=CONFIG)
        + SearchVector(
            Coalesce(Subquery(names), Value(""), output_field=TextField()), weight="C", config=CONFIG
        )
    )


def _highlight(text: str, terms: list[str]) -> str:
    safe = escape(text)
    for term in sorted(set(terms), key=len, reverse=True):
        if len(term) > 1:
            safe = re.sub(f"({re.escape(escape(term))})", r"<mark>\1</mark>", safe, flags=re.IGNORECASE)
    return mark_safe(safe)


def _snippet_from_headline(headline: str) -> str:
    text = _MARKDOWN_NOISE.sub("", headline or "")
    text = escape(" ".join(text.split()))
    return mark_safe(text.replace(_MARK_START, "<mark>").replace(_MARK_END, "</mark>"))


def search(query: str):
    """A queryset of matching published stories, best first, each with a `snippet` attribute source."""
    published = Article.objects.published().select_related("category", "bias_rating")
    if is_postgres():
        sq = SearchQuery(query, search_type="websearch", config=CONFIG)
        return (
            published.filter(search_vector=sq)
            .annotate(
                rank=SearchRank(F("search_vector"), sq),
                headline=SearchHeadline(
                    "summary",
                    sq,
                    config=CONFIG,
                    start_sel=_MARK_START,
                    stop_sel=_MARK_END,
                    max_words=35,
                    min_words=15,
                    max_fragments=2,
                ),
            )
            .order_by("-rank", "-published_at", "-pk")
        )
    condition = Q()
    for term in query.split()[:MAX_TERMS]:
        word = term.lstrip("-").strip('"')
        if word:
            matches = (
                Q(title__icontains=word)
                | Q(summary__icontains=word)
                | Q(pk__in=ArticleSource.objects.filter(source__name__icontains=word).values("article_id"))
            )
            # "-word" leaves stories with that word out, as the search form's hint promises.
            condition &= ~matches if term.startswith("-") else matches
    return published.filter(condition).order_by("-published_at", "-pk")


def snippet(article, query: str) -> str:
    """A short highlighted extract for a result (from PostgreSQL's headline, or made here)."""
    headline = getattr(article, "headline", None)
    if headline is not None:
        return _snippet_from_headline(headline)
    terms = [t.strip('"').lstrip("-") for t in query.split()[:MAX_TERMS]]
    return _highlight(article.excerpt, [t for t in terms if t])
