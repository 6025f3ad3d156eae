"""Published stories made in SQL for bench/scale.py: one INSERT ... SELECT from generate_series per
table (stories copying the demo stories' texts, pictures and renditions under new titles and slugs,
spread over ten years and over the sections; one to three citations each; a bias rating for three in
four; the search vector written as articles/search.py writes it), with the non-unique indexes dropped
during the load and rebuilt afterwards, and the foreign keys checked in bulk."""

from __future__ import annotations

import datetime
import threading
import time

from bench.lib.processes import BenchError, log, warn

# Changing how the data is generated changes this, and with it every database's mark: they are rebuilt.
LOAD_VERSION = "4"
YEARS = 10
FEATURED_EVERY = 3000  # a few hundred featured stories in a million


def h(seed: int, modulo: int | str) -> str:
    """SQL: a well-mixed whole number in [0, modulo) from the series number g.s (stable across runs)."""
    return f"abs(mod(hashint8extended(g.s, {seed}), {modulo}))"


# Shared by the three INSERTs: the demo's sections and stories (texts, pictures) to copy, its outlets,
# and one row per generated story `g` (series number s, its id, publish time, section, citations).
GENERATED = f"""
WITH cats AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY category_id) - 1 AS k, category_id AS id, count(*) AS n
    FROM articles_article
    WHERE id <= %(base)s AND status = 'published' AND renditions <> '{{}}'::jsonb
    GROUP BY category_id
), donors AS MATERIALIZED (
    SELECT a.*,
        row_number() OVER (PARTITION BY a.category_id ORDER BY a.id) - 1 AS dk,
        setweight(to_tsvector('english'::regconfig, COALESCE(a.summary, '')), 'B') AS summary_vector
    FROM articles_article a
    WHERE a.id <= %(base)s AND a.status = 'published' AND a.renditions <> '{{}}'::jsonb
), outlets AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, name, homepage FROM articles_source
), g AS (
    SELECT g.s, %(base)s + g.s AS id,
        -- oldest first, so ids grow with publish times as in a real archive; never later than 1 h ago
        %(oldest)s::timestamptz + (g.s - 1) * %(step)s::interval
            + {h(1, 3600)} * interval '1 second' AS pub,
        mod(g.s, (SELECT count(*) FROM cats)) AS ck,
        g.s / (SELECT count(*) FROM cats) AS dn,
        CASE WHEN g.s = %(probe)s THEN 3 ELSE 1 + {h(2, 3)} END AS cnt,
        {h(3, "(SELECT count(*) FROM outlets)")} AS o0,
        {h(4, 5)} AS d1,
        {h(5, 5)} AS d2,
        g.s = %(probe)s OR {h(6, 20)} = 0 AS modified,
        g.s = %(probe)s OR {h(7, 4)} <> 0 AS rated
    FROM generate_series(1::bigint, %(count)s::bigint) AS g(s)
), story AS (
    SELECT g.*, c.id AS category_id, d.id AS donor_id,
        left(d.title, 185) || ' #' || g.s AS title,
        mod(g.o0 + 1 + g.d1, (SELECT count(*) FROM outlets)) AS o1,
        mod(g.o0 + 6 + g.d2, (SELECT count(*) FROM outlets)) AS o2
    FROM g
    JOIN cats c ON c.k = g.ck
    JOIN donors d ON d.category_id = c.id AND d.dk = mod(g.dn, c.n)
)
"""

UPDATED = "least(st.pub + interval '1 day', %(now)s - interval '30 minutes')"
# Columns of articles_article given a value here; every other column is copied from the demo story.
ARTICLE_VALUES = {
    "id": "st.id",
    "title": "st.title",
    "slug": "'scale-' || st.s || '-' || left(d.slug, 150)",
    "status": "'published'",
    "published_at": "st.pub",
    "created_at": "st.pub",
    # A twentieth were updated a day after going live (an article page then lists its corrections).
    "modified_at": f"CASE WHEN st.modified THEN {UPDATED} END",
    "updated_at": f"CASE WHEN st.modified THEN {UPDATED} ELSE st.pub + interval '5 minutes' END",
    "featured": f"mod(st.s, {FEATURED_EVERY}) = 0",
    "ai_summary": "mod(st.s, 2) = 0",
    "category_id": "st.category_id",
    "created_by_id": "NULL",
    "updated_by_id": "NULL",
    "lock_version": "0",
    # As articles.search.search_vector_refresh writes it: title A, summary B, the outlets' names C.
    "search_vector": "setweight(to_tsvector('english'::regconfig, COALESCE(st.title, '')), 'A')"
    " || d.summary_vector"
    " || setweight(to_tsvector('english'::regconfig, o0.name"
    " || CASE WHEN st.cnt > 1 THEN ' ' || o1.name ELSE '' END"
    " || CASE WHEN st.cnt > 2 THEN ' ' || o2.name ELSE '' END), 'C')",
}

ARTICLES_SQL = """
INSERT INTO articles_article ({columns})
SELECT {values}
FROM story st
JOIN donors d ON d.id = st.donor_id
JOIN outlets o0 ON o0.k = st.o0
JOIN outlets o1 ON o1.k = st.o1
JOIN outlets o2 ON o2.k = st.o2
"""

CITATIONS_SQL = """
INSERT INTO articles_articlesource (url, title, position, article_id, source_id)
SELECT rtrim(o.homepage, '/') || '/story/scale-' || st.s || '-' || v.j, st.title, v.j, st.id, o.id
FROM story st
CROSS JOIN LATERAL (VALUES (0, st.o0), (1, st.o1), (2, st.o2)) AS v(j, k)
JOIN outlets o ON o.k = v.k
WHERE v.j < st.cnt
"""

RATINGS_SQL = f"""
INSERT INTO articles_biasrating (article_id, "left", center, "right", method, unrated_sources)
SELECT r.id, r.l, r.c, 100 - r.l - r.c, CASE WHEN mod(r.s, 5) = 0 THEN 'editorial' ELSE 'sources' END, 0
FROM (
    SELECT g.s, g.id, {h(8, 61)} AS l, abs(mod(hashint8extended(g.s, 9), 101 - {h(8, 61)})) AS c
    FROM g WHERE g.rated
) r
"""

BIG_TABLES = ("articles_article", "articles_articlesource", "articles_biasrating")


def connect(url: str, **kwargs):
    import psycopg

    return psycopg.connect(url, **kwargs)


def table_columns(conn, table: str) -> list[tuple[str, bool, bool, bool]]:
    """(name, nullable, has a default or is an identity, is generated) of each column, in order."""
    rows = conn.execute(
        """SELECT column_name, is_nullable = 'YES', column_default IS NOT NULL OR is_identity = 'YES',
            is_generated = 'ALWAYS'
        FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s
        ORDER BY ordinal_position""",
        (table,),
    ).fetchall()
    if not rows:
        raise BenchError(f"table {table} does not exist (migrations not applied?)")
    return rows


def require_columns(conn, table: str, given: set[str]) -> None:
    """Every NOT NULL column without a default (and not generated) must be given a value by the INSERT."""
    columns = table_columns(conn, table)
    lacking = [
        name for name, nullable, default, generated in columns if not (nullable or default or generated)
    ]
    lacking = [name for name in lacking if name not in given]
    if lacking:
        raise BenchError(
            f"{table} has NOT NULL columns this script does not fill: {', '.join(lacking)} "
            "(bench/scale_generate.py needs updating for them)"
        )


def article_insert(conn) -> str:
    # A generated column (published_month) is computed by PostgreSQL: an INSERT may not give it a value.
    columns = [name for name, _, _, generated in table_columns(conn, "articles_article") if not generated]
    values = [ARTICLE_VALUES.get(name, f'd."{name}"') for name in columns]
    return ARTICLES_SQL.format(
        columns=", ".join(f'"{name}"' for name in columns), values=",\n    ".join(values)
    )


def droppable_indexes(conn) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of the big tables that back no constraint."""
    return conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY(%s)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY t.relname, 1""",
        (list(BIG_TABLES),),
    ).fetchall()


def foreign_keys(conn) -> list[tuple[str, str, str, str, str]]:
    """(constraint, table, column, referenced table, referenced column) of the big tables' keys."""
    return conn.execute(
        """SELECT c.conname, t.relname, a.attname, rt.relname, ra.attname
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class rt ON rt.oid = c.confrelid
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND t.relname = ANY(%s) AND cardinality(c.conkey) = 1""",
        (list(BIG_TABLES),),
    ).fetchall()


class Ticker:
    """Prints, every `every` seconds while a long statement runs, how much WAL the server has written
    since the load began (the tables themselves are locked by the load's transaction)."""

    def __init__(self, url: str, every: float = 20.0):
        self.url, self.every = url, every
        self.step: str | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)

    def _run(self):
        try:
            with connect(self.url, autocommit=True) as conn:
                (start,) = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
                while not self.stop.wait(self.every):
                    step = self.step
                    if step:
                        (written,) = conn.execute(
                            "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), %s))", (start,)
                        ).fetchone()
                        log(f"    … {step}: {written} of WAL written since the load began")
        except Exception as exc:  # progress only: never stops the load
            warn(f"progress ticker stopped: {exc}")


def generate(url: str, count: int) -> dict[str, float]:
    """Add `count` published stories (with citations and ratings) in SQL; seconds per step."""
    now = datetime.datetime.now(datetime.UTC)
    span = datetime.timedelta(days=365 * YEARS)
    steps: dict[str, float] = {}
    with connect(url) as conn, Ticker(url) as ticker:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        (base,) = conn.execute("SELECT coalesce(max(id), 0) FROM articles_article").fetchone()
        params = {
            "base": base,
            "count": count,
            "now": now,
            "oldest": now - span,
            "step": (span - datetime.timedelta(hours=2)) / max(count, 1),
            "probe": (count + 1) // 2,
        }
        require_columns(
            conn, "articles_articlesource", {"url", "title", "position", "article_id", "source_id"}
        )
        require_columns(
            conn,
            "articles_biasrating",
            {"article_id", "left", "center", "right", "method", "unrated_sources"},
        )
        article_sql = article_insert(conn)

        def step(name: str, sql: str, *, args=None) -> int:
            started = time.monotonic()
            ticker.step = name
            cursor = conn.execute(sql, args)
            ticker.step = None
            steps[name] = time.monotonic() - started
            rows = cursor.rowcount
            log(f"  {name}: {f'{rows:,} rows, ' if rows and rows > 0 else ''}{steps[name]:.1f} s")
            return rows

        indexes = droppable_indexes(conn)
        if indexes:
            step("drop the non-unique indexes", "; ".join(f"DROP INDEX {name}" for name, _ in indexes))
            log(f"    (dropped for the load, rebuilt after it: {', '.join(name for name, _ in indexes)})")
        # Foreign keys: the ids are generated consistent; they are checked below in one anti-join per
        # key instead of one trigger (and one row lock of the referenced story) per inserted row.
        conn.execute("SET session_replication_role = replica")
        step("stories", GENERATED + article_sql, args=params)
        step("citations", GENERATED + CITATIONS_SQL, args=params)
        step("ratings", GENERATED + RATINGS_SQL, args=params)
        conn.execute("SET session_replication_role = DEFAULT")
        started = time.monotonic()
        for constraint, table, column, ref_table, ref_column in foreign_keys(conn):
            (broken,) = conn.execute(
                f'SELECT count(*) FROM {table} x WHERE x."{column}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM {ref_table} r WHERE r."{ref_column}" = x."{column}")'
            ).fetchone()
            if broken:
                raise BenchError(f"{broken} rows of {table} break foreign key {constraint}")
        steps["check the foreign keys"] = time.monotonic() - started
        log(f"  check the foreign keys: none broken, {steps['check the foreign keys']:.1f} s")
        step(
            "identity",
            "SELECT setval(pg_get_serial_sequence('articles_article', 'id'),"
            " (SELECT max(id) FROM articles_article))",
        )
        started = time.monotonic()
        for name, definition in indexes:
            begun = time.monotonic()
            ticker.step = f"index {name}"
            conn.execute(definition)
            ticker.step = None
            log(f"    rebuilt {name} ({time.monotonic() - begun:.1f} s)")
        steps["rebuild the indexes"] = time.monotonic() - started
        log(f"  rebuild the indexes: {steps['rebuild the indexes']:.1f} s")
        started = time.monotonic()
        conn.commit()
        steps["commit"] = time.monotonic() - started
    return steps
