"""Search over published stories.

PostgreSQL: a stored tsvector (title weight A, summary B, source names C) with a GIN index, queried
with web-style syntax ("quoted phrases", -exclusions, OR), ranked, with a highlighted snippet.
SQLite: every word must appear in the title, the summary or a source's name; newest first.
The vector is written at save time (articles.search_index), never computed per query.

What a reader types is first reduced to that syntax and nothing else (parse_query): runs of
operators collapse, other punctuation goes, so PostgreSQL never gets a query it cannot build and
both databases search for the same thing. The work per search is bounded whatever the query: only
the newest CANDIDATES matches are ranked (and counted), and the headline, the costly part, is made
for the shown page only.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db.models import F, Q, Value
from django.utils.html import escape
from django.utils.safestring import mark_safe

from articles.models import Article, ArticleSource
from articles.search_index import CONFIG, is_postgres

MAX_QUERY_LENGTH = 200
MAX_TERMS = 10
# Only the newest this many matches are ranked (by relevance, among themselves) and counted. A
# search then reads at most about sqrt(CANDIDATES x stories) rows whichever way PostgreSQL finds
# them (walking the publish-time index for a common word, the GIN index for a rare one): ~4,500
# rows at 100,000 stories, instead of every match of a broad term (20,000 for "harbour"). For news,
# the newest 200 matches (10 pages) are the ones worth ranking.
CANDIDATES = 200
# What a result shows (templates/articles/search.html): rows are read for these alone.
RESULT_FIELDS = ("title", "slug", "category", "published_at", "excerpt")
# Kept between the letters of one word (covid-19, U.S., O'Brien); any other punctuation splits words.
_JOINERS = frozenset("-.'’_@")
_MARK_START, _MARK_END = "\x02", "\x03"
_MARKDOWN_NOISE = re.compile(r"[*_#>`\[\]]|\]\([^)]*\)")


class QueryRejected(ValueError):
    """A query we will not run; the message is shown to the reader."""


@dataclass(frozen=True)
class Term:
    """One word, or the words of a "quoted phrase", maybe excluded (-word)."""

    words: tuple[str, ...]
    negated: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def __str__(self) -> str:
        text = self.words[0] if len(self.words) == 1 else f'"{self.text}"'
        return f"-{text}" if self.negated else text


@dataclass(frozen=True)
class Query:
    """Groups that must all match; within a group (terms joined by OR), any term may."""

    groups: tuple[tuple[Term, ...], ...] = ()

    def __str__(self) -> str:
        """The query in web-search syntax, each operator once: what PostgreSQL is given, and shown."""
        return " ".join(" OR ".join(map(str, group)) for group in self.groups)

    def __bool__(self) -> bool:
        return bool(self.groups)

    @property
    def terms(self) -> list[Term]:
        return [term for group in self.groups for term in group]


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


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM"  # letters, digits and combining marks (Indic vowels)


def _words(token: str) -> list[str]:
    """The words in a token: letters and digits, with one joiner kept between two of them."""
    words, word, joiner = [], "", ""
    for ch in token:
        if _is_letter(ch):
            word += joiner + ch
            joiner = ""
        elif ch in _JOINERS and word:
            joiner = joiner or ch  # "a--b" is "a-b"
        else:
            if word:
                words.append(word)
            word, joiner = "", ""
    return [*words, word] if word else words


def parse_query(text: str) -> Query:
    """A cleaned query as terms: one "-" at most before a term, OR only between two terms, quotes
    paired, no other operator (PostgreSQL's web search nests each "-" of "- - - x", and 32 of them
    are past what it can build), at most MAX_TERMS terms."""
    groups: list[list[Term]] = []
    or_pending = False

    def add(words, negated: bool) -> None:
        nonlocal or_pending
        lone_or = len(words) == 1 and words[0].casefold() == "or"  # PostgreSQL's OR, and a stop word
        if not words or lone_or or sum(map(len, groups)) >= MAX_TERMS:
            return
        term = Term(tuple(words), negated)
        if or_pending and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        or_pending = False

    parts = text.split('"')  # an unclosed quote runs to the end, as in PostgreSQL's web search
    for index, part in enumerate(parts):
        if index % 2:
            add([word for token in part.split() for word in _words(token)], parts[index - 1].endswith("-"))
            continue
        for token in part.split():
            words = _words(token)
            if token.casefold() == "or":
                or_pending = bool(groups)
            else:
                add(words, token.startswith("-"))  # "a&b" is the phrase "a b", as PostgreSQL reads it
    return Query(tuple(tuple(group) for group in groups))


@dataclass(frozen=True)
class Matches:
    ids: list[int]  # best first: at most CANDIDATES
    more: bool  # more stories match than were ranked (the newest CANDIDATES were)


def _tsquery(query: Query) -> SearchQuery:
    return SearchQuery(str(query), search_type="websearch", config=CONFIG)


def _fallback_condition(query: Query) -> Q:
    """SQLite: each term anywhere in the title, the summary or an outlet's name, ignoring case."""
    condition = Q()
    for group in query.groups:
        either = Q()
        for term in group:
            outlets = ArticleSource.objects.filter(source__name__icontains=term.text)
            found = (
                Q(title__icontains=term.text)
                | Q(summary__icontains=term.text)
                | Q(pk__in=outlets.values("article_id"))
            )
            either |= ~found if term.negated else found
        condition &= either
    return condition


def matches(query: Query) -> Matches:
    """The newest CANDIDATES published stories matching, best first (one query). PostgreSQL ranks
    them by relevance (title over summary over outlet name); SQLite keeps them newest first."""
    published = Article.objects.published()
    if is_postgres():
        tsquery = _tsquery(query)
        found = published.filter(search_vector=tsquery).annotate(rank=SearchRank(F("search_vector"), tsquery))
    else:
        found = published.filter(_fallback_condition(query)).annotate(rank=Value(0.0))
    newest = list(
        found.order_by("-published_at", "-pk").values_list("rank", "published_at", "pk")[: CANDIDATES + 1]
    )
    ranked = sorted(newest[:CANDIDATES], reverse=True)  # rank, then the newer, then the higher id
    return Matches([pk for _, _, pk in ranked], more=len(newest) > CANDIDATES)


def stories(query: Query, ids: list[int]) -> list[tuple[Article, str]]:
    """The stories of one page of results, in the order of `ids`, each with its snippet (one query;
    on PostgreSQL the headline is made here, for these stories only)."""
    if not ids:
        return []
    found = (
        Article.objects.published()
        .filter(pk__in=ids)
        .select_related("category")
        .only(*RESULT_FIELDS, "category__name", "category__slug")
    )
    if is_postgres():
        found = found.annotate(
            headline=SearchHeadline(
                "summary",
                _tsquery(query),
                config=CONFIG,
                start_sel=_MARK_START,
                stop_sel=_MARK_END,
                max_words=35,
                min_words=15,
                max_fragments=2,
            )
        )
    by_pk = {story.pk: story for story in found}
    return [(by_pk[pk], snippet(by_pk[pk], query)) for pk in ids if pk in by_pk]


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


def snippet(article, query: Query) -> str:
    """A short highlighted extract for a result (from PostgreSQL's headline, or made here)."""
    headline = getattr(article, "headline", None)
    if headline is not None:
        return _snippet_from_headline(headline)
    return _highlight(article.excerpt, [term.text for term in query.terms if not term.negated])
