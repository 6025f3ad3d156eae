"""A benchmark's database: the demo newsroom plus generated stories, reused while what it was seeded
from is unchanged."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

from bench.lib.processes import ROOT, log
from bench.lib.services import manage, probe, psql

# Everything the seeded data depends on: when one of these changes, the database is seeded anew.
SEED_INPUTS = (ROOT / "articles/management/commands/seed_demo.py", ROOT / "articles/demo/newsroom.json")


def fingerprint(key: str) -> str:
    """A digest of `key` (the number of stories, and how they are made) and of the seed inputs."""
    digest = hashlib.sha256(key.encode())
    for path in SEED_INPUTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def exists(database: str) -> bool:
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'") == "1"


def recreate(database: str) -> None:
    """Drop the database (its connections closed) and create it empty."""
    psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    psql(f"CREATE DATABASE {database}")


def prepare(
    env: dict,
    *,
    var: Path,
    database: str,
    articles: int,
    fresh: bool,
    marker: Path,
    media: Path | None = None,
    batch_size: int | None = None,
) -> tuple[dict, str]:
    """`database` holding the demo newsroom plus `articles` stories of `seed_demo --articles`, and how
    it came to be ("reused", "seeded in N s"): reused when `marker` records the same seeding (and
    `media`, when named, holds the pictures), else dropped and seeded anew (`media` emptied first)."""
    expected = fingerprint(str(articles))
    if exists(database) and not fresh and marker.exists() and (media is None or any(media.rglob("*.*"))):
        recorded = json.loads(marker.read_text())
        manage(env, "migrate", "--noinput", var=var)
        state = probe(env, "state")
        if recorded.get("fingerprint") == expected and recorded.get("articles") == state["articles"]:
            log(f"reusing database {database}: {state['articles']:,} stories (--articles {articles})")
            return state, "reused"
    log(f"creating database {database}: the demo newsroom and {articles:,} generated stories")
    marker.unlink(missing_ok=True)
    recreate(database)
    if media is not None:
        shutil.rmtree(media, ignore_errors=True)
    started = time.monotonic()
    manage(env, "migrate", "--noinput", var=var)
    manage(env, "seed_demo", var=var)
    if articles:
        batch = ["--batch-size", str(batch_size)] if batch_size else []
        manage(env, "seed_demo", "--articles", str(articles), *batch, var=var)
    psql("VACUUM ANALYZE", database)
    state = probe(env, "state")
    marker.write_text(json.dumps({"fingerprint": expected, "articles": state["articles"]}))
    log(f"seeded {state['articles']:,} stories in {time.monotonic() - started:.1f} s")
    return state, f"seeded in {time.monotonic() - started:.0f} s"
