"""The shared services (PostgreSQL and Redis, started by scripts/services.sh and left running), the
tools the benchmarks install when missing, and the production environment the app runs in."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from pathlib import Path

from bench.lib.processes import HOST, PYTHON, ROOT, log, run

PROBE = ROOT / "bench" / "probe.py"


def start(*, database: str, redis_db: int) -> dict[str, str]:
    """Start PostgreSQL and Redis; their URLs, pointing at `database` and at Redis database `redis_db`."""
    log("starting PostgreSQL and Redis (scripts/services.sh; shared services, left running afterwards)")
    result = run([str(ROOT / "scripts" / "services.sh"), "postgres", "redis"])
    found = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {
        "DATABASE_URL": database_url(found["DATABASE_URL"], database),
        "CACHE_URL": re.sub(r"/\d*$", f"/{redis_db}", found["CACHE_URL"]),
    }


def database_url(url: str, database: str) -> str:
    """The same server's URL, with another database."""
    return re.sub(r"/[^/]*$", f"/{database}", url)


def flush_redis(cache_url: str) -> None:
    import redis

    redis.Redis.from_url(cache_url).flushdb()


def redis_version(cache_url: str) -> str:
    import redis

    return redis.Redis.from_url(cache_url).info("server")["redis_version"]


def psql(sql: str, database: str = "postgres") -> str:
    argv = ["runuser", "-u", "postgres", "--", "psql", "-X", "-tA", "-v", "ON_ERROR_STOP=1"]
    result = run([*argv, "-d", database, "-c", sql], cwd="/")
    return result.stdout.strip()


def ensure_tools(*commands: str, var: Path) -> None:
    """Debian's packages of these commands (wrk, nginx), installed when missing (as scripts/services.sh
    does); apt's output goes to var/logs/apt.log."""
    missing = [command for command in commands if not shutil.which(command)]
    if not missing:
        return
    log(f"installing {', '.join(missing)} with apt-get")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env, log_path=var / "logs" / "apt.log")
    run(["apt-get", "install", "-y", "-q", *missing], env=env, log_path=var / "logs" / "apt.log")
    # Debian's nginx package may start the system-wide nginx; the benchmarks run their own only.


def app_env(services: dict[str, str], *, var: Path) -> dict[str, str]:
    """Production settings, on loopback HTTP, with the services given and the static and media files
    of the benchmark's own folder `var`."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "NEWSAPP_", "GUNICORN_", "GRANIAN_"))
        and key not in ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "WEB_CONCURRENCY")
    }
    return (
        inherited
        | services
        | {
            "DJANGO_SETTINGS_MODULE": "newsapp.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS is the proxy's job
            "DJANGO_STATIC_ROOT": str(var / "static"),
            "DJANGO_MEDIA_ROOT": str(var / "media"),
            "NEWSAPP_SERVE_MEDIA": "true",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DJANGO_CONN_MAX_AGE": "600",
            "NEWSAPP_PAGE_CACHE_SECONDS": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )


def manage(env: dict, *args: str, var: Path) -> None:
    """manage.py with `args`, its output to var/logs/manage.log."""
    run([PYTHON, "manage.py", *args], env=env, log_path=var / "logs" / "manage.log")


def probe(env: dict, *args: str) -> dict:
    """bench/probe.py's in-process measurement (`state`, `queries URL...`) in this environment."""
    result = run([PYTHON, str(PROBE), *args], env=env)
    return json.loads(result.stdout)
