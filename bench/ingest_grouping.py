"""The cost of grouping one piece as the store grows, for bench/ingest.py (run by it as a script in
the benchmark's environment; one JSON document to stdout, progress to stderr):

    python bench/ingest_grouping.py --fill 10000 --grow 100000 --sample 200

1. `--fill` pieces stored and grouped one by one through the real grouping
   (newsdesk.grouping.group_piece), oldest first: the corpus in variants (bench/ingest_corpus.py:
   each variant five weeks earlier than the one before, its names changed), by the corpus's outlets;
2. `--sample` new pieces (the corpus under names of a variant not stored, dated inside the stored
   range, so they meet as many candidates in the grouping's window as a day of that news would)
   are each saved and grouped, timed (group_piece alone) and their SQL queries counted; the same
   pieces once before to warm the caches; both passes rolled back, so the store is left unchanged;
3. the store grown to `--grow` pieces in SQL, copying the stored pieces, their candidates and the
   candidates' index terms (CandidateTerm) with dates moved back by whole spans of the stored range
   and new URLs, the term counts (Term) multiplied to match: the tables have the real shape, and a
   new piece finds as much news around its time as before; then VACUUM ANALYZE and step 2 again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils.text import slugify  # noqa: E402

from articles.models import Source  # noqa: E402
from bench.ingest_corpus import VARIANT_GAP, base_shift, variant_piece, variants_needed  # noqa: E402
from newsdesk import grouping  # noqa: E402
from newsdesk.demo import corpus  # noqa: E402
from newsdesk.models import Candidate, CandidateTerm, Piece, Term  # noqa: E402

BATCH = 1000
SAMPLE_DATED_AS = 3  # the sample is dated as the stored variant 3: inside the stored range


def progress(message: str) -> None:
    print(f"  [grouping] {message}", file=sys.stderr, flush=True)


def outlets() -> dict[str, int]:
    """The corpus's outlets as Sources: domain -> id."""
    found = {}
    for outlet in corpus.outlets():
        source, _ = Source.objects.get_or_create(
            domain=outlet["domain"],
            defaults={
                "name": outlet["name"],
                "slug": slugify(outlet["domain"]),
                "homepage": f"https://{outlet['domain']}/",
                "bias": outlet.get("bias", Source.Lean.UNRATED),
            },
        )
        found[outlet["domain"]] = source.pk
    return found


def piece_row(vp, outlet_ids: dict[str, int]) -> Piece:
    domain = vp.corpus_outlet
    return Piece(
        outlet_id=outlet_ids[domain],
        url=f"https://{domain}/bench/{vp.variant}/{vp.slug}",
        title=vp.title[:500],
        author=vp.author,
        published_at=vp.published_at,
        language="en",
        text=vp.text,
        extraction=Piece.Extraction.PAGE,
    )


def fill(count: int, outlet_ids: dict[str, int]) -> float:
    """Store and group `count` pieces, oldest first; the seconds it took."""
    size = len(corpus.pieces())
    shift = base_shift()
    made = [variant_piece(k % size, k // size, shift=shift) for k in range(count)]
    made.sort(key=lambda vp: vp.published_at)
    started = time.monotonic()
    for first in range(0, count, BATCH):
        pieces = Piece.objects.bulk_create(piece_row(vp, outlet_ids) for vp in made[first : first + BATCH])
        for piece in pieces:
            grouping.group_piece(piece)
        done = first + len(pieces)
        rate = done / (time.monotonic() - started)
        progress(f"{done:,} pieces grouped ({rate:.0f}/s)")
    return time.monotonic() - started


def sample_pieces(count: int, outlet_ids: dict[str, int], *, stored: int) -> list[Piece]:
    """`count` new pieces: the corpus's oldest, under names no stored piece has, dated inside the
    stored range (unsaved)."""
    fresh = variants_needed(stored) + 7
    shift = base_shift()
    return [
        piece_row(variant_piece(i, fresh, shift=shift, dated_as=SAMPLE_DATED_AS), outlet_ids)
        for i in range(min(count, len(corpus.pieces())))
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(sample: list[Piece]) -> dict:
    """group_piece of each sample piece, timed and its queries counted; a warm-up pass first; both
    rolled back."""
    for measured in (False, True):
        times, queries, joined = [], [], 0
        with transaction.atomic():
            newest = Candidate.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            for template in sample:
                piece = Piece(
                    **{f.attname: getattr(template, f.attname) for f in Piece._meta.concrete_fields}
                )
                piece.pk = None
                piece.save()
                # The query log keeps 9,000 entries: emptied before each piece, so it never overflows.
                reset_queries()
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    candidate = grouping.group_piece(piece)
                    times.append((time.perf_counter() - started) * 1000)
                queries.append(len(captured.captured_queries))
                joined += candidate.pk <= newest
            transaction.set_rollback(True)
        if measured:
            return {
                "n": len(times),
                "median_ms": statistics.median(times),
                "p95_ms": percentile(times, 0.95),
                "max_ms": max(times),
                "queries_median": statistics.median(queries),
                "queries_max": max(queries),
                "joined_stored": joined,
            }
    raise AssertionError("unreachable")


def table_sizes() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('newsdesk_candidateterm'))")
        index_size = cursor.fetchone()[0]
    return {
        "pieces": Piece.objects.count(),
        "candidates": Candidate.objects.count(),
        "candidate_terms": CandidateTerm.objects.count(),
        "terms": Term.objects.count(),
        "candidate_terms_size": index_size,
    }


def _copy(cursor, model, values: dict[str, str | None], params: dict) -> int:
    """INSERT ... SELECT of every row of `model`'s table, `copies` times: each column copied as it is
    unless `values` gives its expression (over the row t and the copy number k), None leaving it out."""
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if values.get(f.column, "") is not None]
    expressions = [values.get(column) or f"t.{column}" for column in columns]
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} "
        f"FROM {table} t CROSS JOIN generate_series(1, %(copies)s) AS k",
        params,
    )
    return cursor.rowcount


def grow(target: int) -> float:
    """Copy the stored pieces, candidates and index terms until `target` pieces are stored."""
    stored = Piece.objects.count()
    if target % stored:
        raise SystemExit(f"--grow {target} must be a multiple of the stored pieces ({stored})")
    started = time.monotonic()
    span = (
        Piece.objects.latest("published_at").published_at
        - Piece.objects.earliest("published_at").published_at
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM newsdesk_piece")
        piece_max = cursor.fetchone()[0]
        cursor.execute("SELECT max(id) FROM newsdesk_candidate")
        candidate_max = cursor.fetchone()[0]
        params = {
            "copies": target // stored - 1,
            "step": span + VARIANT_GAP,
            "pieces": piece_max,
            "candidates": candidate_max,
        }
        earlier = "- k * %(step)s::interval"
        rows = _copy(cursor, Candidate, {
            "id": "t.id + k * %(candidates)s",
            "story_id": "NULL",
            "created_at": f"t.created_at {earlier}",
            "first_published_at": f"t.first_published_at {earlier}",
            "last_published_at": f"t.last_published_at {earlier}",
        }, params)  # fmt: skip
        progress(f"copied {rows:,} candidates")
        rows = _copy(cursor, Piece, {
            "id": "t.id + k * %(pieces)s",
            "url": "t.url || '?copy=' || k",
            "published_at": f"t.published_at {earlier}",
            "copy_of_id": "t.copy_of_id + k * %(pieces)s",
            "candidate_id": "t.candidate_id + k * %(candidates)s",
        }, params)  # fmt: skip
        progress(f"copied {rows:,} pieces")
        rows = _copy(cursor, CandidateTerm, {
            "id": None,
            "candidate_id": "t.candidate_id + k * %(candidates)s",
            "last_published_at": f"t.last_published_at {earlier}",
        }, params)  # fmt: skip
        progress(f"copied {rows:,} candidate terms")
        cursor.execute("UPDATE newsdesk_term SET pieces = pieces * %s", [target // stored])
        for table in ("newsdesk_piece", "newsdesk_candidate"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fill", type=int, default=10_000)
    parser.add_argument("--grow", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        raise SystemExit("bench/ingest_grouping.py needs PostgreSQL (DATABASE_URL)")
    outlet_ids = outlets()
    report = {
        "corpus_pieces": len(corpus.pieces()),
        "corpus_events": len({p["event"] for p in corpus.pieces()}),
    }
    progress(f"storing and grouping {args.fill:,} pieces (group_piece, one by one)")
    report["fill_seconds"] = fill(args.fill, outlet_ids)
    analyze()
    sample = sample_pieces(args.sample, outlet_ids, stored=args.fill)
    report["sizes"] = []
    progress(f"measuring {len(sample)} new pieces at {args.fill:,} stored")
    report["sizes"].append(table_sizes() | measure(sample))
    progress(f"growing to {args.grow:,} pieces in SQL")
    report["grow_seconds"] = grow(args.grow)
    progress(f"measuring {len(sample)} new pieces at {args.grow:,} stored")
    report["sizes"].append(table_sizes() | measure(sample))
    json.dump(report, sys.stdout, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
