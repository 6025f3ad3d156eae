"""The databases of bench/scale.py, one per size, `newsapp_scale_<N>`, holding N published stories:
the demo newsroom (`seed_demo`), then the rest made in SQL (bench/scale_generate.py), then VACUUM
ANALYZE; reused while it holds its N stories and this script's mark of a finished load (var/scale/)
matches. Also the environment the app runs in at each size."""

from __future__ import annotations

import json
import time

from bench.lib import database, services
from bench.lib.processes import ROOT, BenchError, log
from bench.report import now
from bench.scale_generate import LOAD_VERSION, connect, generate

VAR = ROOT / "var" / "scale"
DB_PREFIX = "newsapp_scale_"


def db_name(articles: int) -> str:
    return f"{DB_PREFIX}{articles}"


def app_env(found: dict[str, str], articles: int) -> dict[str, str]:
    """The benchmarks' production settings, with this size's database and this script's files, HTTPS
    redirects on (requests come through the proxy header), page cache off."""
    return services.app_env(found, var=VAR) | {
        "DATABASE_URL": services.database_url(found["DATABASE_URL"], db_name(articles)),
        "DJANGO_MEDIA_ROOT": str(VAR / f"media-{articles}"),
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "NEWSAPP_PAGE_CACHE_SECONDS": "0",
    }


def published_count(url: str) -> int | None:
    try:
        with connect(url, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT count(*) FROM articles_article WHERE status = 'published' AND published_at <= now()"
            ).fetchone()
            return row[0]
    except Exception:  # no database, no table: not seeded
        return None


def prepare_database(found: dict[str, str], args, articles: int) -> dict:
    """The database of `articles` published stories: reused when it holds them, else made anew."""
    name = db_name(articles)
    env = app_env(found, articles)
    url = env["DATABASE_URL"]
    marker = VAR / f"{name}.json"
    recorded = json.loads(marker.read_text()) if marker.exists() else {}
    fingerprint = database.fingerprint(f"{articles}:{LOAD_VERSION}")
    if database.exists(name) and not args.fresh and recorded.get("fingerprint") == fingerprint:
        services.manage(env, "migrate", "--noinput", var=VAR)
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
    database.recreate(name)
    started = time.monotonic()
    services.manage(env, "migrate", "--noinput", var=VAR)
    services.manage(env, "seed_demo", "--if-empty", var=VAR)
    demo = published_count(url) or 0
    log(
        f"  migrated and seeded the demo newsroom ({demo} published stories): "
        f"{time.monotonic() - started:.1f} s"
    )
    if articles < demo:
        raise BenchError(f"--articles {articles}: the demo newsroom alone has {demo} published stories")
    steps = generate(url, articles - demo) if articles > demo else {}
    vacuum_started = time.monotonic()
    services.psql("VACUUM ANALYZE", name)
    steps["VACUUM ANALYZE"] = time.monotonic() - vacuum_started
    log(f"  VACUUM ANALYZE: {steps['VACUUM ANALYZE']:.1f} s")
    found = published_count(url)
    if found != articles:
        raise BenchError(f"{name} holds {found} published stories after the load, not {articles}")
    seconds = time.monotonic() - started
    size = services.psql(f"SELECT pg_size_pretty(pg_database_size('{name}'))")
    recorded = {
        "fingerprint": fingerprint,
        "articles": articles,
        "seconds": seconds,
        "steps": steps,
        "size": size,
        "date": now(),
    }
    marker.write_text(json.dumps(recorded, indent=1))
    log(f"database {name} ready: {articles:,} published stories, {size}, in {seconds:.0f} s")
    return recorded | {"reused": False}
