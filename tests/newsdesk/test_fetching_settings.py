"""The fetcher's settings as read from the environment: private addresses refused unless asked
for, and a User-Agent built from the site's name and contact page."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["NEWSAPP_FETCH_ALLOW_PRIVATE", "NEWSAPP_FETCH_USER_AGENT", "NEWSAPP_FETCH_MAX_BYTES"]
PRINT = (
    "import json, django; django.setup(); from django.conf import settings; "
    f"print(json.dumps([getattr(settings, name) for name in {NAMES!r}]))"
)


def fetch_settings(tmp_path, **env):
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "newsapp.settings",
        "DJANGO_SECRET_KEY": "test-" + "x" * 50,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=tmp_path,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_refuse_private_addresses_and_name_the_site(tmp_path):
    allow_private, user_agent, max_bytes = fetch_settings(tmp_path, NEWSAPP_SITE_NAME="The Daily Bugle")
    assert allow_private is False
    assert user_agent == "TheDailyBugle/1.0 (newsdesk)"
    assert max_bytes == {"feed": 5 * 1024 * 1024, "page": 5 * 1024 * 1024, "image": 15 * 1024 * 1024}


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("1", True)])
def test_private_addresses_are_allowed_only_when_set(tmp_path, value, expected):
    assert fetch_settings(tmp_path, NEWSAPP_FETCH_ALLOW_PRIVATE=value)[0] is expected


def test_the_contact_url_goes_into_the_user_agent_and_a_full_one_wins(tmp_path):
    contact = {"NEWSAPP_SITE_NAME": "Bugle", "NEWSAPP_FETCH_CONTACT_URL": "https://bugle.example/contact"}
    assert fetch_settings(tmp_path, **contact)[1] == "Bugle/1.0 (newsdesk; +https://bugle.example/contact)"
    assert fetch_settings(tmp_path, **contact, NEWSAPP_FETCH_USER_AGENT="Custom/2")[1] == "Custom/2"


@pytest.mark.parametrize(
    "env",
    [
        {"NEWSAPP_FETCH_TIMEOUT": "0"},
        {"NEWSAPP_FETCH_CONNECT_TIMEOUT": "-1"},
        {"NEWSAPP_FETCH_MAX_PAGE_BYTES": "0"},
        {"NEWSAPP_FETCH_HOST_CONCURRENCY": "0"},
        {"NEWSAPP_FETCH_HOST_INTERVAL": "-0.5"},
    ],
    ids=lambda env: next(iter(env)),
)
def test_impossible_limits_stop_the_start(tmp_path, env):
    with pytest.raises(AssertionError, match="ImproperlyConfigured: NEWSAPP_FETCH_"):
        fetch_settings(tmp_path, **env)
