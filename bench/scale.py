"""Queries, plans and render times of the public pages at 100 and at 1,000,000 stories (issue 5, point 3).

    make bench-scale                                   # 100 and 1,000,000 stories
    .venv/bin/python bench/scale.py --articles 200000 --compare 100
    .venv/bin/python bench/scale.py --articles 100 --compare 0      # one size only

On PostgreSQL with Redis (started by scripts/services.sh, as bench/run.py does; both are shared
services and left running), each size gets a database of its own, `newsapp_scale_<N>`, holding N
published stories: the demo newsroom (`seed_demo`), then the rest generated in SQL, one
INSERT ... SELECT from generate_series per table (stories copying the demo stories' texts, pictures
and renditions under new titles and slugs, spread over ten years and over the sections; one to three
citations each; a bias rating for three in four; the search vector written as articles/search.py
writes it). The non-unique indexes of those tables are dropped during the load and rebuilt from
their own definitions afterwards, in the same transaction; the INSERTs run with
session_replication_role = replica (no foreign-key trigger, and no row lock of the cited story, per
inserted row) and the foreign keys are then checked in bulk, one anti-join per key; then VACUUM
ANALYZE. About 4.5 minutes and 6 GB for a million stories on 2 cores. A database already holding its
N stories (and this script's mark of a finished load, var/scale/) is reused.

Each page (home, a section's first, 25th and a deep cursor page, an article, an outlet's first and
deep cursor page, the RSS feed, the sitemap index, the story sitemaps of this month and of the
oldest month, the news sitemap) is then asked for in-process through Django's test client with
production settings (DEBUG off, HTTPS through the proxy header, collected static files, page cache
off):

- the SQL queries of a render from scratch (Redis flushed, fragment cache off: the cards, the
  section counts and the related stories all computed anew) and of a warm render (fragments on,
  the second answer), and the median time of a warm render;
- EXPLAIN (FORMAT JSON) of every SELECT of both: a sequential scan of an articles_* table is
  reported (an error when the table holds more than BIG_TABLE rows);
- EXPLAIN (ANALYZE, BUFFERS) of every SELECT: the slowest query of each page, and the rows its
  queries read (what grows when a query is not bounded).

It prints a table of both sizes and writes it, with the machine's description, into
docs/performance.md between the markers of the "At a million stories" section.

Exit status: 0; 1 when the query counts differ between the sizes or a big table is scanned; 2 when
it could not run.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report as doc  # noqa: E402
from bench.lib import machine as described  # noqa: E402
from bench.lib import services as shared  # noqa: E402
from bench.lib.processes import CLOCK, HOST, BenchError, log, run, warn  # noqa: E402

VAR = ROOT / "var" / "scale"
DOC = ROOT / "docs" / "performance.md"
PYTHON = sys.executable
DB_PREFIX = "newsapp_scale_"
REDIS_DB = 4
MARK_START = "<!-- scale:start -->"
MARK_END = "<!-- scale:end -->"
SECTION_TITLE = "## At a million stories"
# Changing how the data is generated changes this, and with it every database's mark: they are rebuilt.
LOAD_VERSION = "4"
SEED_INPUTS = (ROOT / "articles/management/commands/seed_demo.py", ROOT / "articles/demo/newsroom.json")
# A sequential scan of a table with more rows than this is an error; below it the planner is right
# to read a few pages rather than an index.
BIG_TABLE = 10_000
YEARS = 10
FEATURED_EVERY = 3000  # a few hundred featured stories in a million
WARM_RUNS = (7, 40)  # at least, at most warm renders timed per page
WARM_BUDGET = 2.0  # seconds of warm renders per page, past the minimum
SLOW_RENDER_MS = 250  # a warm render slower than this at the bigger size is noted, with its SQL share
HEADERS = {"HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https"}

PAGES = (
    ("home", "home"),
    ("section", "section, first page"),
    ("section_deep", "section, deep cursor page (90% down)"),
    ("section_numbered", "section, page 25 (numbered)"),
    ("article", "article"),
    ("source", "outlet (source) page"),
    ("source_deep", "outlet, deep cursor page (90% down)"),
    ("feed", "RSS feed"),
    ("sitemap_index", "sitemap index"),
    ("sitemap_first", "story sitemap, this month"),
    ("sitemap_last", "story sitemap, the oldest month"),
    ("news_sitemap", "news sitemap"),
)


# --------------------------------------------------------------------------------------------------
# The database: the demo newsroom plus generated stories, made in SQL


def db_name(articles: int) -> str:
    return f"{DB_PREFIX}{articles}"


def fingerprint(articles: int) -> str:
    digest = hashlib.sha256(f"{articles}:{LOAD_VERSION}".encode())
    for path in SEED_INPUTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


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


def published_count(url: str) -> int | None:
    try:
        with connect(url, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT count(*) FROM articles_article WHERE status = 'published' AND published_at <= now()"
            ).fetchone()
            return row[0]
    except Exception:  # no database, no table: not seeded
        return None


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
            "(bench/scale.py needs updating for them)"
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


def prepare_database(services: dict, args, articles: int) -> dict:
    """The database of `articles` published stories: reused when it holds them, else made anew."""
    name = db_name(articles)
    env = app_env(services, articles)
    url = env["DATABASE_URL"]
    marker = VAR / f"{name}.json"
    recorded = json.loads(marker.read_text()) if marker.exists() else {}
    exists = shared.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
    if exists and not args.fresh and recorded.get("fingerprint") == fingerprint(articles):
        manage(env, "migrate", "--noinput")
        found = published_count(url)
        if found == articles:
            log(
                f"reusing database {name}: {found:,} published stories "
                f"(loaded in {recorded['seconds']:.0f} s on {recorded['date']})"
            )
            return recorded | {"reused": True}
        log(f"database {name} holds {found} published stories, not {articles:,}: making it anew")
    log(f"creating database {name}: the demo newsroom, then {articles:,} published stories in all")
    marker.unlink(missing_ok=True)
    shared.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    shared.psql(f"CREATE DATABASE {name}")
    started = time.monotonic()
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--if-empty")
    demo = published_count(url) or 0
    log(
        f"  migrated and seeded the demo newsroom ({demo} published stories): "
        f"{time.monotonic() - started:.1f} s"
    )
    if articles < demo:
        raise BenchError(f"--articles {articles}: the demo newsroom alone has {demo} published stories")
    steps = generate(url, articles - demo) if articles > demo else {}
    vacuum_started = time.monotonic()
    shared.psql("VACUUM ANALYZE", name)
    steps["VACUUM ANALYZE"] = time.monotonic() - vacuum_started
    log(f"  VACUUM ANALYZE: {steps['VACUUM ANALYZE']:.1f} s")
    found = published_count(url)
    if found != articles:
        raise BenchError(f"{name} holds {found} published stories after the load, not {articles}")
    seconds = time.monotonic() - started
    size = shared.psql(f"SELECT pg_size_pretty(pg_database_size('{name}'))")
    recorded = {
        "fingerprint": fingerprint(articles),
        "articles": articles,
        "seconds": seconds,
        "steps": steps,
        "size": size,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    marker.write_text(json.dumps(recorded, indent=1))
    log(f"database {name} ready: {articles:,} published stories, {size}, in {seconds:.0f} s")
    return recorded | {"reused": False}


# --------------------------------------------------------------------------------------------------
# Environment


def manage(env: dict, *args: str) -> None:
    shared.manage(env, *args, var=VAR)


def start_services() -> dict[str, str]:
    return shared.start(database="postgres", redis_db=REDIS_DB)


def app_env(services: dict[str, str], articles: int) -> dict[str, str]:
    """bench/run.py's production settings, with this size's database and this script's files, HTTPS
    redirects on (requests come through the proxy header), page cache off."""
    database = re.sub(r"/[^/]*$", f"/{db_name(articles)}", services["DATABASE_URL"])
    return shared.app_env(services, var=VAR) | {
        "DATABASE_URL": database,
        "DJANGO_STATIC_ROOT": str(VAR / "static"),
        "DJANGO_MEDIA_ROOT": str(VAR / f"media-{articles}"),
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "NEWSAPP_PAGE_CACHE_SECONDS": "0",
    }


def machine(postgres: str) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?"
    )
    kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    return {
        "CPU": f"{model}, {os.cpu_count()} logical cores",
        "RAM": f"{kib / 1024 / 1024:.1f} GiB",
        "PostgreSQL": postgres,
        "OS": f"Linux {platform.release()} ({platform.machine()})",
        "Python / Django": f"{platform.python_version()} / {described.version('django')}",
    }


# --------------------------------------------------------------------------------------------------
# In-process measurement (this script run again with --probe, in the size's environment)


def normalized(sql: str) -> str:
    """The statement with its timestamps (the current time, cut-offs) left out: the same query."""
    return re.sub(r"'\d{4}-\d{2}-\d{2}[ T][0-9:.+-]+'", "'…'", sql)


def scans(plan: dict, found: list | None = None) -> list[dict]:
    """Every scan node of a plan (with its loops and rows, when analysed)."""
    found = [] if found is None else found
    if plan.get("Node Type", "").endswith("Scan") and plan.get("Relation Name"):
        found.append(plan)
    for child in plan.get("Plans", []):
        scans(child, found)
    return found


def rows_read(node: dict) -> int:
    """Rows a scan node produced or threw away, over all its loops (an analysed plan)."""
    per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
    per_loop += node.get("Rows Removed by Index Recheck", 0)
    return int(per_loop * node.get("Actual Loops", 1))


def plan_text(node: dict, depth: int = 0) -> list[str]:
    """A compact text form of an analysed JSON plan."""
    what = node["Node Type"]
    if node.get("Relation Name"):
        what += f" on {node['Relation Name']}"
    if node.get("Index Name"):
        what += f" using {node['Index Name']}"
    details = []
    for key in ("Index Cond", "Filter", "Hash Cond", "Sort Key", "Group Key"):
        if node.get(key):
            details.append(f"{key}: {node[key]}")
    timing = ""
    if "Actual Rows" in node:
        timing = (
            f" (rows={node['Actual Rows']} loops={node['Actual Loops']}"
            f" time={node.get('Actual Total Time', 0):.1f} ms)"
        )
    lines = ["  " * depth + "-> " + what + timing]
    lines += ["  " * depth + "     " + str(detail)[:200] for detail in details]
    for child in node.get("Plans", []):
        lines += plan_text(child, depth + 1)
    return lines


def choose_pages() -> dict[str, str]:
    """The URLs measured, picked the same way at every size."""
    from django.db.models import Count, Exists, OuterRef
    from django.urls import reverse
    from django.utils import timezone

    from articles.models import Article, ArticleSource, Category, Source
    from articles.site import paging, sitemaps

    published = Article.objects.published()
    counts = dict(published.values_list("category").annotate(n=Count("id")).order_by())
    category = max(Category.objects.all(), key=lambda c: (counts.get(c.pk, 0), -c.position))
    in_section = published.filter(category=category).order_by("-published_at", "-pk")
    total = counts[category.pk]
    deep = in_section[int(total * 0.9)]
    num_pages = 1 + max(0, -(-(total - paging.PAGE_SIZE) // paging.PAGE_SIZE))
    section = reverse("articles:section", kwargs={"section": category.slug})
    # The generated story in the middle of the series is made with three citations, a rating and an
    # update time (so the page shows everything an article page can); without one, the newest story.
    has_three = Exists(ArticleSource.objects.filter(article=OuterRef("pk"), position=2))
    candidates = published.filter(slug__startswith="scale-", modified_at__isnull=False).filter(has_three)
    count = published.filter(slug__startswith="scale-").count()
    story = candidates.filter(slug__startswith=f"scale-{(count + 1) // 2}-").first()
    story = story or published.order_by("-published_at", "-pk").first()
    busiest = ArticleSource.objects.values("source").annotate(n=Count("id")).order_by("-n", "source").first()
    outlet = Source.objects.get(pk=busiest["source"])
    cited = published.filter(pk__in=ArticleSource.objects.filter(source=outlet).values("article_id"))
    cited = cited.order_by("-published_at", "-pk")
    cited_total = cited.count()
    outlet_deep = cited[int(cited_total * 0.9)]
    oldest = published.order_by("published_at", "pk").first()
    return {
        "home": reverse("articles:home"),
        "section": section,
        "section_deep": f"{section}?before={paging.encode_cursor(deep)}",
        "section_numbered": f"{section}?page={min(paging.MAX_NUMBERED_PAGE, num_pages)}",
        "article": story.get_absolute_url(),
        "source": outlet.get_absolute_url(),
        "source_deep": f"{outlet.get_absolute_url()}?before={paging.encode_cursor(outlet_deep)}",
        "feed": reverse("articles:feed_rss"),
        "sitemap_index": reverse("articles:sitemap_index"),
        "sitemap_first": sitemaps.month_path(timezone.now()),
        "sitemap_last": sitemaps.month_path(oldest.published_at),
        "news_sitemap": reverse("articles:news_sitemap"),
    }


def probe() -> dict:
    """Measure every page in this process; one JSON document goes to stdout."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    client = Client(**HEADERS)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class"
            " WHERE relkind = 'r' AND relname LIKE 'articles\\_%%'"
        )
        table_rows = dict(cursor.fetchall())
    big = {table for table, rows in table_rows.items() if rows > BIG_TABLE}
    urls = choose_pages()
    client.get("/healthz/live")  # the connection and the first-request set-up, not counted
    explained: dict[str, dict] = {}

    def explain(sql: str) -> dict:
        key = normalized(sql)
        if key not in explained:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
                plain = cursor.fetchone()[0]
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
                analysed = cursor.fetchone()[0]
            plain = plain if isinstance(plain, list) else json.loads(plain)
            analysed = analysed if isinstance(analysed, list) else json.loads(analysed)
            seq = sorted(
                {n["Relation Name"] for n in scans(plain[0]["Plan"]) if n["Node Type"] == "Seq Scan"}
            )
            seq = [table for table in seq if table.startswith("articles_")]
            explained[key] = {
                "sql": sql,
                "ms": analysed[0]["Execution Time"],
                "rows_read": sum(rows_read(node) for node in scans(analysed[0]["Plan"])),
                "seq_scans": seq,
                "big_seq_scans": [table for table in seq if table in big],
                "plan": "\n".join(plan_text(analysed[0]["Plan"])),
            }
        return explained[key]

    results = {}
    for name, url in urls.items():
        cache.clear()  # the cards, counts, fragments and content version: all computed anew
        with override_settings(NEWSAPP_FRAGMENT_CACHE=False), CaptureQueriesContext(connection) as cold:
            response = client.get(url)
        cold_queries = cold.captured_queries  # now: the next request resets the connection's log
        if response.status_code != 200:
            raise SystemExit(f"{name} ({url}) answered {response.status_code} from scratch")
        client.get(url)  # fills the fragments
        with CaptureQueriesContext(connection) as warm:
            response = client.get(url)
        warm_queries = warm.captured_queries
        if response.status_code != 200:
            raise SystemExit(f"{name} ({url}) answered {response.status_code} warm")
        timings = []
        deadline = time.perf_counter() + WARM_BUDGET
        while len(timings) < WARM_RUNS[0] or (len(timings) < WARM_RUNS[1] and time.perf_counter() < deadline):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        selects = [
            q["sql"] for q in [*cold_queries, *warm_queries]
            if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
        ]  # fmt: skip
        queries = list({id(found): found for found in map(explain, selects)}.values())
        warm_selects = [
            q["sql"] for q in warm_queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
        ]
        warm_sql_ms = sum(explain(sql)["ms"] for sql in warm_selects)
        results[name] = {
            "url": url,
            "cold": len(cold_queries),
            "warm": len(warm_queries),
            "cold_sql": [q["sql"] for q in cold_queries],
            "warm_sql": [q["sql"] for q in warm_queries],
            "warm_ms": statistics.median(timings),
            "warm_sql_ms": warm_sql_ms,
            "renders": len(timings),
            "queries": queries,
        }
    return {"postgres": server_version, "table_rows": table_rows, "big": sorted(big), "pages": results}


def measure(services: dict, articles: int) -> dict:
    shared.flush_redis(services["CACHE_URL"])
    env = app_env(services, articles)
    log(f"measuring the pages at {articles:,} stories (in-process, production settings)")
    result = run([PYTHON, str(Path(__file__).resolve()), "--probe"], env=env)
    data = json.loads(result.stdout)
    shared.flush_redis(services["CACHE_URL"])
    return data


# --------------------------------------------------------------------------------------------------
# Report


def slowest(page: dict) -> dict | None:
    return max(page["queries"], key=lambda q: q["ms"], default=None)


def size_label(articles: int) -> str:
    if articles >= 1_000_000 and articles % 1_000_000 == 0:
        return f"{articles // 1_000_000}M"
    if articles >= 1000 and articles % 1000 == 0:
        return f"{articles // 1000}k"
    return f"{articles:,}"


def shorten(sql: str, head: int = 420, tail: int = 280) -> str:
    """The start and the end of a long statement (its WHERE, ORDER BY, LIMIT and OFFSET)."""
    return sql if len(sql) <= head + tail + 5 else f"{sql[:head]} … {sql[-tail:]}"


def finding(headline: str, query: dict) -> dict:
    return {"headline": headline, "sql": shorten(query["sql"]), "plan": query["plan"]}


def findings(results: dict[int, dict]) -> tuple[list[dict], list[dict]]:
    """(errors, notes). Errors: query counts that differ between the sizes, a sequential scan of a big
    table. Notes: a page whose queries read many times more rows at the bigger size (not bounded)."""
    errors, notes = [], []
    sizes = sorted(results)
    small, big = sizes[0], sizes[-1]
    for key, title in PAGES:
        pages = {n: results[n]["pages"][key] for n in sizes}
        for kind, what in (("cold", "from scratch"), ("warm", "warm")):
            counts = {n: pages[n][kind] for n in sizes}
            if len(set(counts.values())) > 1:
                shown = ", ".join(f"{c} at {size_label(n)}" for n, c in counts.items())
                seen = {normalized(sql) for sql in pages[small][f"{kind}_sql"]}
                extra = [sql for sql in pages[big][f"{kind}_sql"] if normalized(sql) not in seen]
                errors.append({
                    "headline": f"{title} (`{pages[big]['url']}`): {shown} queries {what}",
                    "sql": "\n\n".join(shorten(sql) for sql in extra) or "(the same statements, repeated)",
                    "plan": "",
                })  # fmt: skip
        for n in sizes:
            for query in pages[n]["queries"]:
                if query["big_seq_scans"]:
                    errors.append(finding(
                        f"{title} at {size_label(n)} (`{pages[n]['url']}`): sequential scan of "
                        f"{', '.join(query['big_seq_scans'])}, {query['ms']:.1f} ms, "
                        f"{query['rows_read']:,} rows read",
                        query,
                    ))  # fmt: skip
        if len(sizes) > 1 and pages[big]["queries"]:
            widest = max(pages[big]["queries"], key=lambda q: q["rows_read"])
            before = max((q["rows_read"] for q in pages[small]["queries"]), default=0)
            # More than two sitemap pages (10,000 rows each: bounded by the page, not the archive).
            if widest["rows_read"] > max(20_000, 20 * before) and not widest["big_seq_scans"]:
                notes.append(finding(
                    f"{title} (`{pages[big]['url']}`): one query reads {widest['rows_read']:,} rows at "
                    f"{size_label(big)} (the widest at {size_label(small)}: {before:,}), "
                    f"{widest['ms']:.1f} ms: "
                    "it grows with the archive",
                    widest,
                ))  # fmt: skip
        scanned = any(q["big_seq_scans"] for q in pages[big]["queries"])
        if pages[big]["warm_ms"] > SLOW_RENDER_MS and not scanned:
            page = pages[big]
            compared = f" ({pages[small]['warm_ms']:,.1f} ms at {size_label(small)})" if small != big else ""
            notes.append({
                "kind": "Slow render",
                "headline": f"{title} (`{page['url']}`): a warm render takes {page['warm_ms']:,.0f} ms at "
                f"{size_label(big)}{compared}; its queries take {page['warm_sql_ms']:,.1f} ms in PostgreSQL "
                "(EXPLAIN ANALYZE), the rest is fetching rows, Python and templates",
                "sql": "",
                "plan": "",
            })  # fmt: skip
    return errors, notes


def render(results: dict[int, dict], loads: dict[int, dict], errors: list, notes: list) -> str:
    sizes = sorted(results)
    big = sizes[-1]
    label = {n: size_label(n) for n in sizes}
    header = ["page"]
    header += [f"queries at {label[n]} (scratch / warm)" for n in sizes]
    header += [f"warm ms at {label[n]}" for n in sizes]
    header += [f"slowest query ms at {label[big]}", f"rows read at {label[big]}", "seq scans"]
    rows = []
    for key, title in PAGES:
        pages = {n: results[n]["pages"][key] for n in sizes}
        row = [title]
        row += [f"{pages[n]['cold']} / {pages[n]['warm']}" for n in sizes]
        row += [f"{pages[n]['warm_ms']:,.1f}" for n in sizes]
        worst = slowest(pages[big])
        row.append(f"{worst['ms']:,.1f}" if worst else "–")
        row.append(f"{sum(q['rows_read'] for q in pages[big]['queries']):,}")
        scanned = sorted({t for q in pages[big]["queries"] for t in q["big_seq_scans"]})
        tiny = sorted({t for q in pages[big]["queries"] for t in q["seq_scans"]} - set(scanned))
        cell = ", ".join(f"**{t.removeprefix('articles_')}**" for t in scanned) or "none"
        if tiny:
            cell += f" (small: {', '.join(t.removeprefix('articles_') for t in tiny)})"
        row.append(cell)
        rows.append(row)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if os.environ.get("MAKELEVEL"):
        command = "make bench-scale" + (f' SCALE_ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else "")
    else:
        command = f"bench/scale.py {' '.join(sys.argv[1:])}".strip()
    lines = [
        f"Run on {date} with `{command}`. Each page is asked for in-process (Django's test client, "
        "production settings: DEBUG off, HTTPS through the proxy header, collected static files; page "
        "cache off). *Queries*: those of a render from scratch (Redis flushed, fragment cache off: "
        "cards, counts and related stories computed anew) / of a warm render (fragments and cards "
        "cached). *Warm ms*: the median of a warm render. *Slowest query*: EXPLAIN ANALYZE of every "
        "query of both renders. *Rows read*: the rows those queries took from tables and indexes "
        f"(EXPLAIN ANALYZE, both renders together). *Seq scans*: of articles_* tables at {label[big]}; "
        f"in bold a table of more than {BIG_TABLE:,} rows (an error), in brackets small ones (sections, "
        "outlets, corrections), which the planner rightly reads whole.",
        "",
        "### Machine",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in machine(results[big]["postgres"]).items()]
    lines += ["", "### Databases", ""]
    for n in sizes:
        load, rows_of = loads[n], results[n]["table_rows"]
        how = "reused" if load.get("reused") else "made in this run"
        steps = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in load.get("steps", {}).items())
        lines.append(
            f"- `{db_name(n)}`: {n:,} published stories, {rows_of.get('articles_articlesource', 0):,} "
            f"citations, {rows_of.get('articles_biasrating', 0):,} ratings; {load.get('size', '?')} on "
            f"disk. Loaded on {load.get('date', '?')} in {load['seconds']:.0f} s ({how})"
            + (f": {steps}." if steps else ".")
        )
    lines += ["", "### Pages", "", doc.table(header, rows), ""]
    urls = "; ".join(f"{title} `{results[big]['pages'][key]['url']}`" for key, title in PAGES)
    lines += [f"URLs at {label[big]}: {urls}.", ""]
    lines += ["### Findings", ""]
    if not errors and not notes:
        lines.append(
            "None: the same number of queries at every size, no sequential scan of a big table, "
            "no query reading many more rows at the bigger size."
        )
    for kind, items in (("Error", errors), ("Grows with the archive", notes)):
        for item in items:
            lines += [f"- **{item.get('kind', kind)}**: {item['headline']}.", ""]
            if item["sql"] or item["plan"]:
                lines += ["  ```"]
                lines += ["  " + line for line in item["sql"].splitlines()]
                lines += ["  " + line for line in item["plan"].splitlines()]
                lines += ["  ```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_doc(markdown: str) -> None:
    block = f"{MARK_START}\n{markdown}{MARK_END}\n"
    text = DOC.read_text()
    if MARK_START in text and MARK_END in text:
        before, rest = text.split(MARK_START, 1)
        text = before + block + rest.split(MARK_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION_TITLE}\n\n" + block
    DOC.write_text(text)


# --------------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--articles", type=int, default=1_000_000, metavar="N", help="published stories (default 1000000)"
    )
    parser.add_argument(
        "--compare",
        type=int,
        default=100,
        metavar="M",
        help="also measure at M published stories and compare (default 100; 0: only N)",
    )
    parser.add_argument("--fresh", action="store_true", help="make the databases anew even if reusable")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.probe and (args.articles < 1 or args.compare < 0):
        parser.error("--articles must be at least 1 and --compare 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe:
        json.dump(probe(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    if os.geteuid() != 0:
        print(
            "bench/scale.py: run as root (it starts PostgreSQL and Redis and runs psql as postgres)",
            file=sys.stderr,
        )
        return 2
    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / "logs").mkdir(parents=True, exist_ok=True)
    sizes = sorted({args.articles, *([args.compare] if args.compare else [])})
    try:
        services = start_services()
        loads = {n: prepare_database(services, args, n) for n in sizes}
        log("collecting static files (whitenoise, compressed and hashed)")
        manage(app_env(services, sizes[0]), "collectstatic", "--noinput", "-v0")
        results = {n: measure(services, n) for n in sizes}
    except BenchError as exc:
        warn(f"bench/scale.py failed: {exc}")
        return 2
    except KeyboardInterrupt:
        warn("interrupted")
        return 2
    errors, notes = findings(results)
    markdown = render(results, loads, errors, notes)
    print("\n" + markdown)
    if not args.no_docs:
        write_doc(markdown)
        log(f"wrote {DOC.relative_to(ROOT)}")
    for item in errors:
        warn(f"FINDING: {item['headline']}")
    log(f"done in {CLOCK.elapsed:.0f} s: {len(errors)} error(s), {len(notes)} note(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
