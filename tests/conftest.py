import time
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from articles.site.cache.content_version import cache_generation, stored
from articles.site.cache.pagecache import SIGNED_IN_COOKIE, signed_in_value
from tests.factories import image_bytes


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads and renditions go to a fresh folder per test, never to ./media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """A key prefix of its own per test: no page cached by one test is served in another, and
    parallel workers sharing one Redis never see (or flush) each other's keys."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


@pytest.fixture(autouse=True)
def pinned_content_version(settings):
    """The database's content version counts as just read and is not read again (so query counts
    stay exact, whatever a frozen clock says); tests/site/cache/test_content_version.py sets the interval."""
    settings.NEWSAPP_CONTENT_VERSION_CHECK = float("inf")
    stored.read_at, stored.retry_at, stored.generation = time.monotonic(), 0.0, cache_generation()


@pytest.fixture
def local_memory_cache(settings, isolated_cache):
    """Local memory, whose expiry follows a frozen clock (Redis's follows the real one), keeping the
    per-test key prefix so no page cached by another test is ever served here."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "frozen-clock",
            "KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }


@pytest.fixture
def media_files(media_root):
    """media_files() -> every file now under MEDIA_ROOT, sorted (to show what a step wrote)."""
    return lambda: sorted(p for p in media_root.rglob("*") if p.is_file())


@pytest.fixture
def make_image():
    """image_bytes(fmt="JPEG", size=(20, 10), *, color=..., orientation=None, gps=False) -> bytes"""
    return image_bytes


def staff_user(django_user_model, username, group, **names):
    """A member of the newsroom group `group` ("Editors" or "Writers") who may use the admin."""
    user = django_user_model.objects.create_user(username=username, is_staff=True, **names)
    user.groups.add(Group.objects.get(name=group))
    return user


def signed_in_client(user) -> Client:
    """A test client of its own, logged in as `user` now, with the cookies a real sign-in sets."""
    client = Client()
    client.force_login(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.cookies[SIGNED_IN_COOKIE] = signed_in_value(session_key)
    return client


@pytest.fixture
def editor(db, django_user_model):
    return staff_user(django_user_model, "editor", "Editors")


@pytest.fixture
def writer(db, django_user_model):
    return staff_user(django_user_model, "writer", "Writers")


@pytest.fixture
def editor_client(editor):
    return signed_in_client(editor)


@pytest.fixture
def writer_client(writer):
    return signed_in_client(writer)


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` run only when the test database is PostgreSQL, and tests marked
    `redis` only when the cache is Redis: the second CI run (make test-postgres) has both, and there
    a missing server is a failure, not a skip."""
    from django.db import connection

    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            # A committing test's flush re-creates content types, which another's restore then
            # inserts again: every such test restores the migrated data, or they collide by order.
            wanted = "django_db(transaction=True, serialized_rollback=True)"
            raise pytest.UsageError(f"{item.nodeid}: use {wanted}")
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason=f"needs PostgreSQL (DATABASE_URL); this run uses {connection.vendor}")
        for item in items:
            if item.get_closest_marker("postgres"):
                item.add_marker(skip)
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        skip = pytest.mark.skip(reason="needs Redis (CACHE_URL=redis://...); this run uses local memory")
        for item in items:
            if item.get_closest_marker("redis"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def prepared_newsroom(tmp_path_factory):
    """A migrated SQLite file with the demo newsroom and collected static files, for real servers
    (tests/servers.py); made once per test process."""
    from tests import servers

    return servers.prepare_newsroom(tmp_path_factory.mktemp("newsroom"))
