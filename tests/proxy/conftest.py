from contextlib import contextmanager

import pytest
from django.db import connection

from tests.proxy.fake_proxy import start_fake_proxy


@pytest.fixture
def proxy(settings):
    """A fake proxy on loopback the site purges (once: no second purge unless a test asks)."""
    fake = start_fake_proxy()
    settings.NEWSAPP_PROXY_PURGE_URLS = [fake.url]
    settings.NEWSAPP_PROXY_PURGE_TIMEOUT = 1.0
    settings.NEWSAPP_PROXY_REPURGE_SECONDS = 0
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def page_cache(settings, local_memory_cache):
    """Pages and API answers kept (and said public) as in production."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    settings.NEWSAPP_API_RATE = "100000/min"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """committed(): a block run as a transaction of its own that commits at its end (the test's own
    transaction never does). What was pending before it is dropped, as if committed already."""

    @contextmanager
    def block():
        connection.run_on_commit.clear()
        with django_capture_on_commit_callbacks(execute=True):
            yield
        connection.run_on_commit.clear()

    return block
