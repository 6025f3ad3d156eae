"""One end-to-end run of bench/ingest.py: a fresh database (copied from a migrated template), the
outlets and their feeds added through the import format (each new feed queues its first fetch),
then W `manage.py db_worker` processes started and the database polled until every feed has been
fetched and no due task is waiting or running. What it leaves is counted; each worker's CPU time
and peak memory (VmHWM) are read from /proc before it is stopped."""

from __future__ import annotations

import re
import time
from pathlib import Path

from bench.ingest_outlets import Outlets
from bench.lib import database, services
from bench.lib.processes import PROCESSES, PYTHON, BenchError, group_cpu_seconds, log, machine_cpu, run

DB_NAME = "newsapp_bench_ingest"
TEMPLATE = f"{DB_NAME}_template"
TASKS_TABLE = "django_tasks_database_dbtaskresult"
POLL_SECONDS = 0.25
# A task is due when ready and its run_after has come; django-tasks-db stores "no run_after" as 9999.
# A candidate's summary is queued a few seconds after the feeds touching it (newsdesk.tasks
# SUMMARY_DELAY): the run is not over while one waits, since summarising is part of ingestion.
DUE_TASKS = f"""
    SELECT count(*) FROM {TASKS_TABLE}
    WHERE status = 'RUNNING'
       OR (status = 'READY' AND (run_after <= now() OR run_after >= '9999-01-01'
                                 OR task_path = 'newsdesk.tasks.summarise_task'))
"""
COUNTS = {
    "pieces": "SELECT count(*) FROM newsdesk_piece",
    "pieces_from_feed_text": "SELECT count(*) FROM newsdesk_piece WHERE extraction = 'feed'",
    "copies": "SELECT count(*) FROM newsdesk_piece WHERE copy_of_id IS NOT NULL",
    "candidates": "SELECT count(*) FROM newsdesk_candidate",
    "summaries": "SELECT count(*) FROM newsdesk_summary",
    "feeds": "SELECT count(*) FROM newsdesk_feed",
    "feeds_fetched": "SELECT count(*) FROM newsdesk_feed WHERE last_fetched_at IS NOT NULL",
    "feeds_failed": "SELECT count(*) FROM newsdesk_feed WHERE last_status = 'error'",
    "tasks_failed": f"SELECT count(*) FROM {TASKS_TABLE} WHERE status = 'FAILED'",
    "tasks_done": f"SELECT count(*) FROM {TASKS_TABLE} WHERE status = 'SUCCESSFUL'",
}


def connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def ingest_env(found: dict[str, str], *, var: Path) -> dict[str, str]:
    """Production settings (bench/lib/services.app_env) with this benchmark's database, fetching
    from loopback allowed, every other fetcher setting at its default."""
    return services.app_env(found, var=var) | {
        "DATABASE_URL": services.database_url(found["DATABASE_URL"], DB_NAME),
        "NEWSAPP_FETCH_ALLOW_PRIVATE": "true",
    }


def template_prepare(env: dict, *, var: Path) -> None:
    """A database migrated to the current models, copied for every run (CREATE DATABASE ... TEMPLATE)."""
    if not database.exists(TEMPLATE):
        services.psql(f"CREATE DATABASE {TEMPLATE}")
    log(f"migrating the template database {TEMPLATE}")
    template_env = env | {"DATABASE_URL": services.database_url(env["DATABASE_URL"], TEMPLATE)}
    services.manage(template_env, "migrate", "--noinput", var=var)


def database_fresh(name: str) -> None:
    services.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    services.psql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")


def vm_hwm_mb(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM), in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found[1]) / 1024 if found else None


def counts(conn) -> dict[str, int]:
    return {name: conn.execute(sql).fetchone()[0] for name, sql in COUNTS.items()}


def run_once(
    env: dict,
    outlets: Outlets,
    *,
    workers: int,
    var: Path,
    time_limit: float,
    profile: Path | None = None,
    label: str = "",
) -> dict:
    """Ingest every outlet's feed with `workers` db_worker processes; the figures of the run.
    With `profile`, the first worker runs under cProfile and writes its profile there; `label`
    says how the run differs from the others."""
    database_fresh(DB_NAME)
    document = outlets.write_import(var / "run" / "outlets.json")
    log(f"importing {len(outlets.servers)} outlets with one feed each (import_articles, sources only)")
    run(
        [PYTHON, "manage.py", "import_articles", str(document)], env=env, log_path=var / "logs" / "manage.log"
    )
    with connect(env["DATABASE_URL"]) as conn:
        queued = conn.execute(DUE_TASKS).fetchone()[0]
        if queued != len(outlets.servers):
            raise BenchError(
                f"the import queued {queued} due tasks, not one per feed ({len(outlets.servers)})"
            )
        procs = []
        busy_before, total_before = machine_cpu()
        started = time.monotonic()
        for number in range(1, workers + 1):
            argv = [PYTHON, "manage.py", "db_worker", "--worker-id", f"bench-ingest-{number}"]
            if profile is not None and number == 1:
                argv = [PYTHON, "-m", "cProfile", "-o", str(profile), *argv[1:]]
            log_path = var / "logs" / f"worker-{workers}-{number}.log"
            procs.append(PROCESSES.start(f"db_worker {number}", argv, env=env, log_path=log_path))
        log(f"{workers} worker(s) started{' (the first under cProfile)' if profile else ''}")
        progress_at = started
        try:
            while True:
                time.sleep(POLL_SECONDS)
                elapsed = time.monotonic() - started
                fetched = conn.execute(COUNTS["feeds_fetched"]).fetchone()[0]
                due = conn.execute(DUE_TASKS).fetchone()[0]
                if fetched == len(outlets.servers) and due == 0:
                    break
                for proc in procs:
                    if proc.poll() is not None:
                        raise BenchError(f"a worker (pid {proc.pid}) exited with status {proc.returncode}")
                if elapsed > time_limit:
                    raise BenchError(
                        f"not done after {time_limit:.0f} s ({fetched} feeds fetched, {due} due tasks)"
                    )
                if time.monotonic() - progress_at >= 15:
                    progress_at = time.monotonic()
                    pieces = conn.execute(COUNTS["pieces"]).fetchone()[0]
                    log(f"  {elapsed:5.0f} s: {fetched} feeds fetched, {pieces} pieces, {due} due tasks")
            seconds = time.monotonic() - started
            busy_after, total_after = machine_cpu()
            per_worker = [
                {"pid": proc.pid, "cpu_seconds": group_cpu_seconds(proc.pid), "peak_mb": vm_hwm_mb(proc.pid)}
                for proc in procs
            ]
        finally:
            for proc in procs:
                PROCESSES.stop(proc, grace=30)
        figures = counts(conn)
    busy = (busy_after - busy_before) / max(total_after - total_before, 1e-9)
    rate = figures["pieces"] / seconds
    log(f"{workers} worker(s): {figures['pieces']} pieces in {seconds:.1f} s ({rate:.1f}/s)")
    return {
        "workers": workers,
        "seconds": seconds,
        "rate": rate,
        "machine_busy": busy,
        "per_worker": per_worker,
        "label": label or ("the first under cProfile" if profile else ""),
        **figures,
    }
