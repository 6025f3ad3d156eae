"""Production settings from the environment: no secret, no start; `check --deploy` clean."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(tmp_path, *args, **env):
    """Run Python in a clean environment from an empty folder.

    settings.py also reads ROOT/.env, but real environment variables win over it: every variable a
    development .env sets (DJANGO_DEBUG, DJANGO_SECRET_KEY) is given here explicitly.
    """
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    clean |= {
        "DJANGO_SETTINGS_MODULE": "newsapp.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=clean | env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("debug", ["false", "true"])
def test_refuses_to_start_without_a_secret_key(tmp_path, debug):
    result = run(tmp_path, "-c", "import django; django.setup()", DJANGO_SECRET_KEY="", DJANGO_DEBUG=debug)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


@pytest.fixture(scope="module")
def fresh_checkout(tmp_path_factory):
    """manage.py and the settings package, copied to a folder with no .env: a checkout before `make run`."""
    folder = tmp_path_factory.mktemp("checkout")
    shutil.copy2(ROOT / "manage.py", folder)
    shutil.copytree(ROOT / "newsapp", folder / "newsapp", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.mark.parametrize(
    "command", [[], ["help"], ["check"], ["migrate", "--noinput"], ["runserver"], ["seed_demo"]], ids=str
)
def test_manage_py_without_a_secret_key_says_what_to_do_in_one_line(fresh_checkout, command):
    no_secret = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(fresh_checkout)}
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=fresh_checkout,
        env=no_secret,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert result.stderr.startswith("manage.py: DJANGO_SECRET_KEY is not set, in the environment or in ")
    assert str(fresh_checkout / ".env") in result.stderr
    assert "run `make run` (it writes a development .env) or export DJANGO_SECRET_KEY" in result.stderr


def test_the_web_server_refuses_to_start_without_a_secret_key(tmp_path):
    result = run(tmp_path, "-c", "import newsapp.wsgi", DJANGO_SECRET_KEY="", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


def test_starts_with_a_secret_key(tmp_path):
    result = run(
        tmp_path,
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.ALLOWED_HOSTS)",
        DJANGO_SECRET_KEY="x",
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['example.com']"


def check_deploy(tmp_path, **env):
    # A real-looking key: a one-letter key is rightly reported by Django itself (security.W009).
    env = {
        "NEWSAPP_FETCH_ALLOW_PRIVATE": "false",  # a development .env says true
        "NEWSAPP_FETCH_CONTACT_URL": "https://news.example.com/about/",
        **env,
    }
    return run(
        tmp_path,
        str(ROOT / "manage.py"),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="example.com",
        **env,
    )


def test_check_deploy_is_clean(tmp_path):
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_of_newsdesk_settings_fit_only_for_a_laptop(tmp_path):
    result = check_deploy(tmp_path, NEWSAPP_FETCH_ALLOW_PRIVATE="true", NEWSAPP_FETCH_CONTACT_URL="")
    assert result.returncode == 1
    assert "(newsdesk.W001) NEWSAPP_FETCH_ALLOW_PRIVATE is true" in result.stderr
    assert "(newsdesk.W002) NEWSAPP_FETCH_CONTACT_URL is empty" in result.stderr


def test_sqlite_transactions_take_the_write_lock_at_once(tmp_path):
    """Two admin saves of one story are serialized on SQLite too (it has no SELECT ... FOR UPDATE)."""
    code = (
        "import django; django.setup(); from django.db import connection; "
        "print(connection.settings_dict['OPTIONS'].get('transaction_mode'))"
    )
    result = run(tmp_path, "-c", code, DJANGO_SECRET_KEY="x", DJANGO_DEBUG="false")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "IMMEDIATE"


def test_earlier_secret_keys_come_from_the_environment(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SECRET_KEY_FALLBACKS)"
    )
    result = run(tmp_path, "-c", code, DJANGO_SECRET_KEY="new", DJANGO_SECRET_KEY_FALLBACKS="old1,old2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['old1', 'old2']"
