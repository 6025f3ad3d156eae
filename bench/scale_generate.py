"""Published stories made in SQL for bench/scale.py: one INSERT ... SELECT from generate_series per
table, with the non-unique indexes dropped during the load and rebuilt afterwards, and the foreign keys
checked in bulk.

- Outlets: as many as make OUTLETS with the demo's, each with a country (a twentieth without) and one to
  three dated ratings (a tenth unrated: none), a later rating moving the lean one step; Source.bias is
  the rating in force today.
- Stories: the demo stories' texts, pictures and renditions under new titles and slugs, spread over ten
  years and over the sections, the search vector written as articles/search.py writes it.
- Citations: one to three outlets a story, the first drawn with a long tail (a few outlets are cited by
  tens of thousands of stories, most by a few hundred); one story in BIG_STORY_EVERY cites 9 to 12
  outlets, a third of those from one side and the centre only (so blindspots exist, as on a real site),
  and so do the three newest, so that the blindspot pages run the same queries at every size (with no
  recent story of 8 outlets or more they skip the baselines' query).
- Bias ratings for three in four stories (and every big one): outlets per side, unrated outlets, as_of
  and basis from each outlet's rating in force on the story's local publish date, as
  articles.newsroom.ratings computes them; computed percentages from those counts, a fifth editorial.
"""

from __future__ import annotations

import datetime
import os
import threading
import time

from bench.lib.processes import BenchError, log, warn

# Changing how the data is generated changes this, and with it every database's mark: they are rebuilt.
LOAD_VERSION = "6"
YEARS = 10
FEATURED_EVERY = 3000  # a few hundred featured stories in a million
OUTLETS = 10_000  # outlets in all, the demo's included
BIG_STORY_EVERY = 50  # stories citing 9 to 12 outlets: 2%, some 40 in a week at a million
LEANS = "ARRAY['left', 'lean_left', 'center', 'lean_right', 'right']"
COUNTRIES = "ARRAY['GB', 'US', 'IE', 'FR', 'DE', 'CA', 'AU', 'IN', 'NZ', 'ZA', 'ES', 'IT', 'NL', 'JP', 'BR']"


def h(seed: int, modulo: int | str) -> str:
    """SQL: a well-mixed whole number in [0, modulo) from the series number g.s (stable across runs)."""
    return f"abs(mod(hashint8extended(g.s, {seed}), {modulo}))"


def k_hash(seed: int, modulo: int | str) -> str:
    """As h(), from the outlet number k."""
    return f"abs(mod(hashint8extended(k, {seed}), {modulo}))"


# One row per generated outlet k (0-based; id = obase + 1 + k): its lean index and up to three ratings,
# each moving the lean one step from the one before. The first predates every generated story.
OUTLET_PLAN = f"""
WITH o AS (
    SELECT k, %(obase)s + 1 + k AS id, mod(k, 5) AS i1,
        CASE WHEN {k_hash(11, 10)} = 0 THEN 0 ELSE 1 + {k_hash(12, 3)} END AS nr,
        %(oldest)s::date - 1 - {k_hash(13, 700)}::int AS d1,
        %(oldest)s::date + 1 + {k_hash(14, 365 * YEARS - 60)}::int AS d2
    FROM generate_series(0::bigint, %(outlets)s::bigint - 1) AS k
), plan AS (
    SELECT o.*,
        CASE WHEN i1 = 0 THEN 1 WHEN i1 = 4 THEN 3 WHEN {k_hash(15, 2)} = 0 THEN i1 - 1 ELSE i1 + 1 END AS i2,
        d2 + 1 + {k_hash(16, "greatest(1, %(today)s::date - o.d2 - 1)")}::int AS d3
    FROM o
)
"""

OUTLETS_SQL = f"""
INSERT INTO articles_source (id, name, slug, domain, homepage, logo, logo_small, bias, country, description)
SELECT id, 'Scale Outlet ' || k, 'scale-outlet-' || k, 'scale-outlet-' || k || '.example',
    'https://scale-outlet-' || k || '.example/', '', '{{}}'::jsonb,
    CASE nr WHEN 0 THEN 'unrated' WHEN 2 THEN ({LEANS})[i2::int + 1] ELSE ({LEANS})[i1::int + 1] END,
    CASE WHEN {k_hash(17, 20)} = 0 THEN '' ELSE ({COUNTRIES})[1 + {k_hash(18, 15)}::int] END, ''
FROM plan
"""

SOURCE_RATINGS_SQL = f"""
INSERT INTO articles_sourcerating (source_id, lean, effective_from, rater_kind, rater_name, method,
    confidence, note, link, created_at)
SELECT id, ({LEANS})[v.i::int + 1], v.d,
    CASE WHEN {k_hash(19, 3)} = 0 THEN 'newsroom' ELSE 'external' END,
    CASE WHEN {k_hash(19, 3)} = 0 THEN ''
        ELSE (ARRAY['Media Lens', 'Press Compass'])[1 + {k_hash(20, 2)}::int] END,
    'editorial review of 40 recent articles',
    (ARRAY['low', 'medium', 'high'])[1 + {k_hash(21, 3)}::int], '', '', v.d::timestamptz
FROM plan CROSS JOIN LATERAL (VALUES (1, i1, d1), (2, i2, d2), (3, i1, d3)) AS v(n, i, d)
WHERE v.n <= plan.nr
"""


def outlet_k(row: str, j: int | str) -> str:
    """SQL: the outlet number k of citation j of story `row`, distinct within the story. A big story
    takes outlets 5m + r (lean index r at first: the outlets' leans go round the five) for consecutive m,
    with r from every lean, or from the centre and the right only, or the left and the centre only."""
    r = (
        f"CASE {row}.pattern WHEN 0 THEN mod({j} + {row}.s, 5) WHEN 1 THEN 2 + mod({j} + {row}.s, 3)"
        f" ELSE mod({j} + {row}.s, 3) END"
    )
    return (
        f"CASE WHEN {row}.big THEN 5 * mod({row}.mb + {j}, %(outlets)s / 5) + {r}"
        f" WHEN {j} = 0 THEN {row}.k0 WHEN {j} = 1 THEN mod({row}.k0 + 1 + {row}.d1, %(outlets)s)"
        f" ELSE mod({row}.k0 + 6 + {row}.d2, %(outlets)s) END"
    )


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
    SELECT id - %(obase)s - 1 AS k, id, name, slug, homepage FROM articles_source WHERE id > %(obase)s
), g AS (
    SELECT g.s, %(base)s + g.s AS id,
        -- oldest first, so ids grow with publish times as in a real archive; never later than 1 h ago.
        -- In a small archive (stories days apart) the three newest, which cite 9 to 12 outlets, go
        -- live in the last few hours, so that the blindspot pages have recent candidates at every size
        -- (at a million, stories minutes apart, the newest are that recent anyway and are unchanged).
        greatest(
            %(oldest)s::timestamptz + (g.s - 1) * %(step)s::interval + {h(1, 3600)} * interval '1 second',
            CASE WHEN g.s > %(count)s - 3 AND %(step)s::interval > interval '1 day'
                THEN %(now)s - (%(count)s - g.s + 2) * interval '1 hour' END
        ) AS pub,
        mod(g.s, (SELECT count(*) FROM cats)) AS ck,
        g.s / (SELECT count(*) FROM cats) AS dn,
        g.s <> %(probe)s AND ({h(10, BIG_STORY_EVERY)} = 0 OR g.s > %(count)s - 3) AS big,
        {h(12, 3)} AS pattern,
        {h(13, "%(outlets)s / 5")} AS mb,
        CASE WHEN g.s = %(probe)s THEN 3 WHEN {h(10, BIG_STORY_EVERY)} = 0 OR g.s > %(count)s - 3
            THEN 9 + {h(11, 4)}
            ELSE 1 + {h(2, 3)} END AS cnt,
        -- A long tail: outlet k is cited first with a probability falling as k grows (u cubed).
        floor(%(outlets)s * power({h(3, 1000003)} / 1000003.0, 3))::bigint AS k0,
        {h(4, 5)} AS d1,
        {h(5, 5)} AS d2,
        g.s = %(probe)s OR {h(6, 20)} = 0 AS modified,
        g.s = %(probe)s OR {h(7, 4)} <> 0 OR {h(10, BIG_STORY_EVERY)} = 0 OR g.s > %(count)s - 3 AS rated
    FROM generate_series(1::bigint, %(count)s::bigint) AS g(s)
), story AS (
    SELECT g.*, c.id AS category_id, d.id AS donor_id,
        left(d.title, 185) || ' #' || g.s AS title,
        {outlet_k("g", 0)} AS o0, {outlet_k("g", 1)} AS o1, {outlet_k("g", 2)} AS o2
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

CITATIONS_SQL = f"""
INSERT INTO articles_articlesource (url, title, position, article_id, source_id, wire_copy)
SELECT rtrim(o.homepage, '/') || '/story/scale-' || st.s || '-' || v.j, st.title, v.j, st.id, o.id, false
FROM story st
CROSS JOIN LATERAL generate_series(0, st.cnt - 1) AS v(j)
JOIN outlets o ON o.k = {outlet_k("st", "v.j")}
"""

# An editor's numbers (a fifth of the bars): left 0-60%, right 0-39%, the centre the rest.
EDITORIAL_LEFT = h(8, 61).replace("g.s", "shares.s")
EDITORIAL_RIGHT = h(9, 40).replace("g.s", "shares.s")

# Each cited outlet's rating in force on the story's local publish date (the latest one from that day
# or before; none: unrated), as articles.newsroom.ratings finds it; then the story's counts and basis.
RATINGS_SQL = f"""
, history AS MATERIALIZED (
    SELECT source_id, array_agg(id ORDER BY effective_from) AS ids,
        array_agg(effective_from ORDER BY effective_from) AS days,
        array_agg(lean ORDER BY effective_from) AS leans,
        array_agg(CASE WHEN rater_kind = 'external' THEN rater_name ELSE %(newsroom)s END
            ORDER BY effective_from) AS raters,
        array_agg(rater_kind ORDER BY effective_from) AS kinds,
        array_agg(confidence ORDER BY effective_from) AS confidences,
        min(method) AS method
    FROM articles_sourcerating GROUP BY source_id
), cited AS (
    SELECT g.s, g.id, g.rated, v.j, o.id AS outlet, o.name, o.slug, h.*,
        (g.pub AT TIME ZONE %(zone)s)::date AS as_of,
        coalesce((SELECT max(n) FROM generate_subscripts(h.days, 1) AS n
            WHERE h.days[n] <= (g.pub AT TIME ZONE %(zone)s)::date), 0) AS n
    FROM g
    CROSS JOIN LATERAL generate_series(0, g.cnt - 1) AS v(j)
    JOIN outlets o ON o.k = {outlet_k("g", "v.j")}
    LEFT JOIN history h ON h.source_id = o.id
    WHERE g.rated
), sided AS (
    SELECT c.*, CASE WHEN c.n = 0 THEN 'unrated' ELSE c.leans[c.n] END AS lean FROM cited c
), story_sides AS (
    SELECT s, id, min(as_of) AS as_of,
        count(*) FILTER (WHERE lean IN ('left', 'lean_left')) AS l,
        count(*) FILTER (WHERE lean = 'center') AS c,
        count(*) FILTER (WHERE lean IN ('right', 'lean_right')) AS r,
        count(*) FILTER (WHERE lean = 'unrated') AS u,
        jsonb_agg(jsonb_build_object(
            'outlet', outlet, 'name', name, 'slug', slug, 'lean', lean,
            'rating', CASE WHEN n > 0 THEN ids[n] END,
            'rater', CASE WHEN n > 0 THEN raters[n] ELSE '' END,
            'rater_kind', CASE WHEN n > 0 THEN kinds[n] ELSE '' END,
            'effective_from', CASE WHEN n > 0 THEN to_char(days[n], 'YYYY-MM-DD') END,
            'confidence', CASE WHEN n > 0 THEN confidences[n] ELSE '' END,
            'method', CASE WHEN n > 0 THEN method ELSE '' END) ORDER BY j) AS outlets
    FROM sided GROUP BY s, id
), shares AS (
    SELECT x.*, l + c + r AS voices, mod(s, 5) = 0 AS editorial,
        -- Whole percentages rounded down, the centre taking what is left (never over 100 in all).
        CASE WHEN l + c + r > 0 THEN 100 * l / (l + c + r) END AS pl,
        CASE WHEN l + c + r > 0 THEN 100 * r / (l + c + r) END AS pr
    FROM story_sides x
)
INSERT INTO articles_biasrating (article_id, "left", center, "right", method, unrated_sources, as_of,
    outlets_left, outlets_center, outlets_right, basis, computed_at)
SELECT id,
    CASE WHEN editorial THEN {EDITORIAL_LEFT} ELSE pl END,
    CASE WHEN editorial THEN 100 - {EDITORIAL_LEFT} - {EDITORIAL_RIGHT} ELSE 100 - pl - pr END,
    CASE WHEN editorial THEN {EDITORIAL_RIGHT} ELSE pr END,
    CASE WHEN editorial THEN 'editorial' ELSE 'sources' END, u, as_of, l, c, r,
    jsonb_build_object('outlets', outlets, 'wire_copies', '[]'::jsonb), %(now)s
FROM shares
-- A computed bar needs a rated outlet (bias_rating_refresh removes one without); an editor's does not.
WHERE editorial OR voices > 0
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
        outlets_sql = "SELECT coalesce(max(id), 0), count(*) FROM articles_source"
        obase, existing = conn.execute(outlets_sql).fetchone()
        params = {
            "base": base,
            "obase": obase,
            "outlets": max(OUTLETS - existing, 5 * 13),  # a big story's outlets: 13 fifths at most
            "today": now.date(),
            "zone": os.environ.get("TIME_ZONE", "Europe/London"),  # the site's, for a story's local date
            "newsroom": os.environ.get("NEWSAPP_SITE_NAME", "newsapp") + " newsroom",
            "count": count,
            "now": now,
            "oldest": now - span,
            "step": (span - datetime.timedelta(hours=2)) / max(count, 1),
            "probe": (count + 1) // 2,
        }
        require_columns(
            conn,
            "articles_source",
            {"id", "name", "slug", "domain", "homepage", "logo", "logo_small", "bias", "country"}
            | {"description"},
        )
        require_columns(
            conn,
            "articles_sourcerating",
            {"source_id", "lean", "effective_from", "rater_kind", "rater_name", "method", "confidence"}
            | {"note", "link", "created_at"},
        )
        require_columns(
            conn,
            "articles_articlesource",
            {"url", "title", "position", "article_id", "source_id", "wire_copy"},
        )
        require_columns(
            conn,
            "articles_biasrating",
            {"article_id", "left", "center", "right", "method", "unrated_sources", "as_of", "basis"}
            | {"outlets_left", "outlets_center", "outlets_right", "computed_at"},
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

        # Outlets first (ten thousand rows and their ratings: the foreign keys checked as they go).
        step("outlets", OUTLET_PLAN + OUTLETS_SQL, args=params)
        step("outlet ratings", OUTLET_PLAN + SOURCE_RATINGS_SQL, args=params)
        step(
            "outlet identity",
            "SELECT setval(pg_get_serial_sequence('articles_source', 'id'),"
            " (SELECT max(id) FROM articles_source))",
        )
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
