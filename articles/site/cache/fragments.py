"""Pieces of public pages kept for as long as the newsroom's content stays the same.

The navigation (the sections) and an article's related stories depend on other stories than the
one on the page, so no single story's version can key them. They are kept under the content version
(articles.site.cache.pagecache), which every content change bumps, and never past the next scheduled story's
time. Used only when every worker sees the same version (settings.NEWSAPP_FRAGMENT_CACHE).
"""

import threading

from django.conf import settings
from django.core.cache import cache

from articles.site.cache.content_version import VERSION_KEY, content_version
from articles.site.cache.pagecache import seconds_until_next_publish

RELATED_KEY = "related:{pk}:{version}"
TIMEOUT = 600


def enabled() -> bool:
    return settings.NEWSAPP_FRAGMENT_CACHE


def request_version(request) -> int:
    """The content version this request is answered from (the page cache may have fetched it)."""
    version = getattr(request, "content_version", None)
    if version is None:
        version = request.content_version = content_version()
    return version


class _ProcessMemo:
    """Values computed once per content version in this process (the sections: a few rows that
    every page shows). Holds one version at a time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.key = None
        self.values: dict[str, object] = {}

    def get_or_compute(self, request, name: str, compute):
        key = (cache.make_key(VERSION_KEY), request_version(request))
        with self.lock:
            if self.key == key and name in self.values:
                return self.values[name]
        value = compute()
        with self.lock:
            if self.key != key:
                self.key, self.values = key, {}
            self.values[name] = value
        return value


memo = _ProcessMemo()


def related_cards(request, article, compute) -> list[str]:
    """The related stories' card HTML for `article`: from the shared cache, else `compute()`."""
    version = request_version(request)
    return kept(RELATED_KEY.format(pk=article.pk, version=version), version, compute)


def kept(key: str, version: int, compute):
    """The fragment under `key` (which names `version`) from the shared cache, else `compute()`d and
    kept for TIMEOUT, never past the next scheduled story's time."""
    value = cache.get(key)
    if value is None:
        value = compute()
        due = seconds_until_next_publish(version)
        timeout = TIMEOUT if due is None else min(TIMEOUT, int(due))
        if timeout >= 1:
            cache.set(key, value, timeout=timeout)
    return value
