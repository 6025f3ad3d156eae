"""The archive of the scale tests, made in bulk: stories `spacing` apart back from now across the
sections (one in 50 a draft), outlets with a two-rating history, two citations a story (one of a
few much cited outlets, one of all), most stories rated, the last days' with blindspots.

The query-count tests build it at 100 stories inside their own test; at 30,000 stories it is built
once a module by `shared_archive` (tests/scale/conftest.py) for the tests there, which only read it.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import batched

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Max
from django.utils import timezone

from articles.models import Article, ArticleSource, BiasRating, Category, Source, SourceRating

# The two spacings the tests share. At 30,000 stories: ten years, a 30-day window holding 240 (a
# page's plan reads a window, never the archive); six weeks, a 30-day window holding 21,600 (a page's
# query count must not grow with a window of thousands).
EVERY_THREE_HOURS = timedelta(hours=3)
EVERY_TWO_MINUTES = timedelta(minutes=2)
# The outlets' leans (Source.bias, and their rating since 2023), in turn: one in six left, one in
# three center.
LEANS = ["left", "center", "right", "lean_left", "lean_right", "center"]
# Every story cites one of the first twelve outlets: each of those is cited by thousands of stories.
BIG_OUTLETS = 12
# In the last six days two rated stories in three are cited by 9 outlets, none on one side (a
# blindspot for it); before, and the third, by 2 a side (under the minimum of 8).
BLINDSPOT_DAYS = 6
VOICES = {  # outlets left, center, right: the rating's percentages
    (2, 2, 2): (33, 33, 34),
    (0, 5, 4): (0, 56, 44),
    (4, 5, 0): (44, 56, 0),
}
# What the archive fills, in the order it fills them (its rows are deleted in the reverse order).
MODELS = [Source, SourceRating, Article, ArticleSource, BiasRating]


@dataclass(frozen=True)
class Archive:
    story_ids: list[int]  # newest first: story i was published spacing × i (and a minute) before now
    outlet_ids: list[int]  # the first BIG_OUTLETS are the much cited ones

    @property
    def size(self) -> int:
        return len(self.story_ids)

    def story(self, i: int) -> Article:
        return Article.objects.select_related("category").get(pk=self.story_ids[i])

    def outlet(self, i: int) -> Source:
        return Source.objects.get(pk=self.outlet_ids[i])


def build_archive(*, stories: int, spacing: timedelta, outlets: int = BIG_OUTLETS) -> Archive:
    """`stories` stories and `outlets` outlets (at least 2), in a few INSERTs a table."""
    rng = random.Random(13)
    now = timezone.now()
    sections = list(Category.objects.values_list("pk", flat=True))
    with transaction.atomic():
        insert(
            Source,
            [
                {
                    # Names in another order than the rows: the directory sorts by name.
                    "name": f"Outlet {rng.randrange(10**6):06d} {i}",
                    "slug": f"archive-outlet-{i}",
                    "domain": f"outlet{i}.archive.example",
                    "homepage": f"https://outlet{i}.archive.example/",
                    "bias": LEANS[i % len(LEANS)],
                    "country": ["GB", "US", "DE", "IN", ""][i % 5],
                }
                for i in range(outlets)
            ],
        )
        outlet_ids = ids(Source, "archive-outlet-", outlets)
        insert(
            SourceRating,
            [
                {"source_id": pk, "lean": lean, "effective_from": day, "method": "Archive review"}
                for i, pk in enumerate(outlet_ids)
                for lean, day in (("center", date(2016, 3, 1)), (LEANS[i % len(LEANS)], date(2023, 9, 1)))
            ],
        )
        published = [now - spacing * i - timedelta(minutes=1) for i in range(stories)]
        insert(
            Article,
            [
                {
                    "title": f"Archive story {i}",
                    "slug": f"archive-story-{i}",
                    "category_id": sections[i % len(sections)],
                    "summary": "Text.",
                    "summary_html": "<p>Text.</p>",
                    "status": Article.Status.PUBLISHED if i % 50 else Article.Status.DRAFT,
                    "published_at": published[i],
                    "featured": i % 997 == 0,
                }
                for i in range(stories)
            ],
        )
        story_ids = ids(Article, "archive-story-", stories)
        insert(
            ArticleSource,
            [
                {
                    "article_id": pk,
                    "source_id": outlet_ids[j],
                    "url": f"https://x.example/{pk}/{k}",
                    "position": k,
                }
                for pk in story_ids
                for k, j in enumerate(cited(rng, outlets))
            ],
        )
        recent = now - timedelta(days=BLINDSPOT_DAYS)
        ratings = []
        for i, pk in enumerate(story_ids):
            if i % 4 == 3:
                continue  # unrated: it adds no voices
            voices = (2, 2, 2)
            if published[i] >= recent and i % 3:
                voices = (0, 5, 4) if i % 3 == 1 else (4, 5, 0)
            left, center, right = VOICES[voices]
            ratings.append(
                {
                    "article_id": pk,
                    "left": left,
                    "center": center,
                    "right": right,
                    "method": BiasRating.Method.SOURCES,
                    "outlets_left": voices[0],
                    "outlets_center": voices[1],
                    "outlets_right": voices[2],
                }
            )
        insert(BiasRating, ratings)
    return Archive(story_ids=story_ids, outlet_ids=outlet_ids)


def cited(rng: random.Random, outlets: int) -> list[int]:
    """Two distinct outlets: one of the much cited, one of all."""
    first = rng.randrange(min(BIG_OUTLETS, outlets))
    while (second := rng.randrange(outlets)) == first:
        pass
    return [first, second]


def ids(model, prefix: str, n: int) -> list[int]:
    by_slug = dict(model.objects.filter(slug__startswith=prefix).values_list("slug", "pk"))
    return [by_slug[f"{prefix}{i}"] for i in range(n)]


def insert(model, rows: list[dict]) -> None:
    """The rows (attribute name -> value, the same names in each; every other field its default), by
    COPY on PostgreSQL and INSERTs of up to 1,000 rows on SQLite. bulk_create makes a model instance
    and prepares every field of every row, about 100 µs a row: 10 s for the archive's 180,000 rows, and
    psycopg parses a long INSERT's placeholders in Python (20 s); this takes a second or two."""
    if not rows:
        return
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: the `connection` proxy looks itself up each time
    meta = model._meta
    given = [meta.get_field(name) for name in rows[0]]
    blank = model()
    defaults = [
        field
        for field in meta.concrete_fields
        if field not in given and not field.generated and field is not meta.auto_field
    ]
    constants = [field.get_db_prep_save(field.pre_save(blank, add=True), db) for field in defaults]
    # Text, numbers and booleans go in as they are; dates and times as the backend stores them.
    dated = [isinstance(rows[0][field.attname], date) for field in given]
    values = (
        [
            field.get_db_prep_save(row[field.attname], db) if is_date else row[field.attname]
            for field, is_date in zip(given, dated, strict=True)
        ]
        + constants
        for row in rows
    )
    table = db.ops.quote_name(meta.db_table)
    columns = ", ".join(db.ops.quote_name(field.column) for field in given + defaults)
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        width = len(given) + len(defaults)
        row_sql = f"({', '.join(['%s'] * width)})"
        for chunk in batched(values, min(1000, db.features.max_query_params // width)):
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}",
                [value for row in chunk for value in row],
            )


def high_marks() -> dict:
    """Each archive table's highest primary key now: rows above it are the archive's."""
    return {model: model.objects.aggregate(top=Max("pk"))["top"] or 0 for model in MODELS}


def remove(marks: dict) -> None:
    """Delete the rows above the marks. On PostgreSQL, when the archive's tables held nothing else,
    TRUNCATE them: a DELETE leaves dead rows that the next archive's VACUUM cannot clear while a
    standby's feedback holds them, and pages holding them are not all-visible (no index-only scans)."""
    tables = [connection.ops.quote_name(model._meta.db_table) for model in MODELS]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not any(marks.values()):
            # CASCADE: the tables that refer to them (corrections, the newsdesk's) are as empty.
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            return
        for model, table in reversed(list(zip(MODELS, tables, strict=True))):
            pk = connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(f"DELETE FROM {table} WHERE {pk} > %s", [marks[model]])


def shared_archive(django_db_blocker, **shape) -> Iterator[Archive]:
    """For a module-scoped fixture: the archive built and committed before the module's first test and
    deleted after its last. Each test runs in a transaction of its own, rolled back at its end
    (pytest.mark.django_db without transaction=True), so none can change what the next one reads.
    On PostgreSQL, VACUUM ANALYZE as autovacuum would leave a live site: statistics, and the
    visibility map that lets a query read a covering index alone (VACUUM needs autocommit)."""
    with django_db_blocker.unblock():
        marks = high_marks()
        try:
            archive = build_archive(**shape)
            if connection.vendor == "postgresql":
                # The database's own tables, by name: a bare VACUUM also takes the cluster's shared
                # catalogs, and waits there while another database is being made or dropped.
                tables = ", ".join(map(connection.ops.quote_name, connection.introspection.table_names()))
                with connection.cursor() as cursor:
                    cursor.execute(f"VACUUM ANALYZE {tables}")
        except BaseException:
            remove(marks)
            raise
    yield archive
    with django_db_blocker.unblock():
        remove(marks)
