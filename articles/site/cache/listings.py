"""The front page's story lists from one light query, compiled to SQL once per process.

An uncached front page used to load about a hundred model instances (story, section, rating) in
seven querysets, and compiling those querysets to SQL cost more than the database spent running
them (docs/performance.md). Here:

- the lists (the newest featured story, the latest, each section's newest) are one query: a UNION
  ALL of one index-ordered, limited subquery per list;
- that SQL is compiled once per process: the publish-time cut-off is its only changing value,
  swapped in at run time, and rows go through the ORM's own converters;
- rows are plain tuples of what a card's cache key needs (articles.site.cache.cards); whole stories
  are loaded, in one more query, only for the cards the card cache lacks.

Why not the plain ORM: the same lists as seven values_list querysets (Django's union() cannot keep a
LIMIT per part on SQLite) take 11.5-12 ms against 2.9 ms here, on PostgreSQL at 10,000 stories
(median of 300 runs each, the same rows; the cost is compiling the querysets, not running them).
"""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connections, router
from django.db.models import Value
from django.utils import timezone

from articles.models import Article
from articles.site.cache.cards import card_key, render_card_variants

# Stands in for "now" while a listing is compiled; each run puts the current time in its place.
NOW_MARK = datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
KEY_FIELDS = (
    "pk",
    "published_at",
    "updated_at",
    "category_id",
    "bias_rating__left",
    "bias_rating__center",
    "bias_rating__right",
)


@dataclass(slots=True)
class CardRef:
    """A story as far as its card is concerned: enough to find the card in the cache."""

    pk: int
    published_at: datetime
    updated_at: datetime
    category_id: int
    rating: tuple[int, int, int] | None
    card: str = ""

    @classmethod
    def from_row(cls, row) -> "CardRef":
        pk, published_at, updated_at, category_id, left, center, right = row
        rating = None if left is None else (left, center, right)
        return cls(pk, published_at, updated_at, category_id, rating)


class CompiledQuery:
    """values_list querysets of the same columns turned once into one SQL statement (a UNION ALL of
    each as a subquery, so each keeps its own ORDER BY and LIMIT on every database); `rows(now)`
    runs it with the current time in place of NOW_MARK."""

    def __init__(self, querysets):
        self.model = querysets[0].model
        self.using = querysets[0].db
        connection = connections[self.using]
        compiled = [qs.query.get_compiler(using=self.using).as_sql() for qs in querysets]
        self.sql = " UNION ALL ".join(f"SELECT * FROM ({sql}) part{i}" for i, (sql, _) in enumerate(compiled))
        self.params = [param for _, params in compiled for param in params]
        # The first statement's compiler knows the columns' converters (the same for every part).
        self.compiler = querysets[0].query.get_compiler(using=self.using)
        self.compiler.as_sql()
        mark = connection.ops.adapt_datetimefield_value(NOW_MARK)
        self.now_slots = [i for i, param in enumerate(self.params) if param == mark]
        if len(self.now_slots) < len(querysets):
            raise ValueError("Every query must filter on the publish time.")

    def rows(self, now: datetime) -> list[tuple]:
        # Run where this read is routed now (a reader's request may read a replica, newsapp.replicas),
        # not where the statement was first compiled: the same SQL for both, one engine.
        connection = connections[router.db_for_read(self.model)]
        params = list(self.params)
        value = connection.ops.adapt_datetimefield_value(now)
        for slot in self.now_slots:
            params[slot] = value
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            return list(self.compiler.results_iter(results=[cursor.fetchall()]))


_compiled: dict[tuple, CompiledQuery] = {}
_compiled_lock = threading.Lock()


def _list_query(tag: str, limit: int, *, category_id: int | None = None, featured: bool = False):
    stories = Article.objects.published(now=NOW_MARK)
    if featured:
        stories = stories.filter(featured=True)
    if category_id is not None:
        stories = stories.filter(category_id=category_id)
    return (
        stories.order_by("-published_at", "-pk")
        .annotate(block=Value(tag))
        .values_list("block", *KEY_FIELDS)[:limit]
    )


def _query(spec: tuple, using: str = "default") -> CompiledQuery:
    key = (using, connections[using].vendor, spec)
    found = _compiled.get(key)
    if found is None:
        found = CompiledQuery(
            [_list_query(tag, limit, **dict(options)).using(using) for tag, limit, options in spec]
        )
        with _compiled_lock:
            if len(_compiled) > 64:  # the sections changed many times: start afresh
                _compiled.clear()
            _compiled[key] = found
    return found


def story_lists(spec: list[tuple[str, int, dict]], now: datetime | None = None) -> dict[str, list[CardRef]]:
    """Several lists of published stories, newest first: {tag: [CardRef, ...]}.

    `spec` is [(tag, limit, {"category_id": id} or {"featured": True} or {}), ...].
    """
    frozen = tuple((tag, limit, tuple(sorted(options.items()))) for tag, limit, options in spec)
    now = now or timezone.now()
    lists: dict[str, list[CardRef]] = {tag: [] for tag, _, _ in spec}
    for block, *row in _query(frozen).rows(now):
        lists[block].append(CardRef.from_row(row))
    for refs in lists.values():
        # A UNION promises no order: put each list back in publish order.
        refs.sort(key=lambda ref: (ref.published_at, ref.pk), reverse=True)
    return lists


def render_ref_cards(wanted: list[tuple[CardRef, str]], categories: dict) -> None:
    """Give each CardRef its card HTML: from the card cache, else rendered from the whole story."""
    keys = [
        card_key(variant, ref.pk, ref.updated_at, categories[ref.category_id], ref.rating)
        for ref, variant in wanted
    ]
    render_card_variants(wanted, keys=keys, load=_load_stories)


def _load_stories(refs) -> dict[int, Article]:
    return {story.pk: story for story in Article.objects.for_cards().filter(pk__in=[ref.pk for ref in refs])}
