"""The task backend chosen by NEWSAPP_TASKS_BACKEND: the database queue by default, RQ on a Redis,
anything else refused at start with a message saying what to set."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "from django.conf import settings as s; print(s.TASKS['default']['BACKEND'], getattr(s, 'RQ_QUEUES', 0))"
)


def run(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    """Python in a clean environment: no Redis or backend of this shell's leaking in."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "newsapp.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_DEBUG": "true",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=clean | env, capture_output=True, text=True, timeout=120
    )


def test_the_database_queue_is_the_default(tmp_path):
    result = run(tmp_path, "-c", SHOW, NEWSAPP_TASKS_BACKEND="database")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django_tasks_db.DatabaseBackend", "0"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"NEWSAPP_TASKS_BACKEND": "celery"},
            "NEWSAPP_TASKS_BACKEND must be 'database' or 'rq', not 'celery'",
        ),
        (
            {"NEWSAPP_TASKS_BACKEND": "rq"},
            "NEWSAPP_TASKS_BACKEND=rq needs a Redis: set NEWSAPP_TASKS_REDIS_URL",
        ),
        (
            {"NEWSAPP_TASKS_BACKEND": "rq", "CACHE_URL": "locmemcache://x"},
            "NEWSAPP_TASKS_BACKEND=rq needs a Redis",
        ),
    ],
)
def test_a_backend_that_cannot_work_is_refused_at_start(tmp_path, env, message):
    result = run(tmp_path, "-c", "import django; django.setup()", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


@pytest.mark.tasks_backend
def test_rq_on_the_redis_named_passes_djangos_checks(tmp_path):
    pytest.importorskip(
        "django_tasks_rq", reason="the rq extra (pip install -e '.[rq]'); make test-tasks-rq has it"
    )
    env = {"NEWSAPP_TASKS_BACKEND": "rq", "CACHE_URL": "redis://127.0.0.1:6379/1"}
    result = run(tmp_path, "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django_tasks_rq.RQBackend",
        "{'default':",
        "{'URL':",
        "'redis://127.0.0.1:6379/1'}}",
    ]
    queue = {"NEWSAPP_TASKS_REDIS_URL": "redis://127.0.0.1:6379/4"}
    assert "redis://127.0.0.1:6379/4" in run(tmp_path, "-c", SHOW, **env, **queue).stdout
    # django-tasks-rq's own checks: django_rq installed, the queue configured, rq recent enough.
    result = run(tmp_path, str(ROOT / "manage.py"), "check", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr
