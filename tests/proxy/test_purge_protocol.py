"""How purges reach the proxy: once per transaction after its commit (after the content version's
bump), again a little later, never for a rolled-back change, from a command as from a request, and
at no more cost to the save than the timeout when the proxy is down."""

import logging
import socket
import time

import pytest
from django.db import transaction

from articles.models import Article
from articles.site.cache import content_version, surrogate
from articles.site.cache import proxy as purges
from tests.factories import ArticleFactory, CategoryFactory, SourceFactory, import_one_story
from tests.proxy.fake_proxy import start_fake_proxy

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(committed):
    with committed():
        return ArticleFactory(title="Harbour strike ends", category=CategoryFactory(slug="world"))


def retitle(story, title):
    story.title = title
    story.save()


def test_one_purge_per_transaction_with_every_key(proxy, story, committed):
    outlet = SourceFactory.build(name="Fresh Outlet", slug="fresh-outlet", domain="fresh.example")
    proxy.clear()
    with committed(), transaction.atomic():
        retitle(story, "Harbour strike ends at dawn")
        outlet.save()
        assert not proxy.purges  # nothing before the commit
    [purge] = proxy.purges
    assert purge.path == "/"
    assert {surrogate.story(story.pk), surrogate.HOME, surrogate.outlet(outlet.pk)} <= set(purge.keys)


def test_the_purge_follows_the_content_version_bump(proxy, story, committed, monkeypatch):
    """A reader's request arriving at the proxy right after the purge must not get a page the app
    server still serves from its own cache under the old version."""
    seen = []
    send = purges.send

    def send_and_note(keys, **options):
        seen.append(content_version.stored.value)  # the database's count as the purge leaves
        return send(keys, **options)

    monkeypatch.setattr(purges, "send", send_and_note)
    before = content_version.stored.value
    with committed():
        retitle(story, "Harbour strike ends at dawn")
    assert seen and seen[0] > before
    assert surrogate.story(story.pk) in proxy.purged_keys()


def test_a_rolled_back_savepoint_purges_nothing(proxy, story, committed):
    proxy.clear()
    with committed():
        try:
            with transaction.atomic():
                retitle(story, "A title never committed")
                raise RuntimeError("the editor's save failed")
        except RuntimeError:
            pass
    assert proxy.purges == []


def test_no_key_is_lost_when_a_savepoint_rolls_back(proxy, story, committed):
    """Keys from before the savepoint and after it are purged (those from inside it may be too:
    a purge too many is harmless)."""
    with committed():
        other = ArticleFactory(title="Ferry fares rise")
    proxy.clear()
    with committed(), transaction.atomic():
        try:
            with transaction.atomic():
                retitle(story, "A title never committed")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        retitle(other, "Ferry fares rise again")
    [purge] = proxy.purges
    assert surrogate.story(other.pk) in purge.keys and surrogate.HOME in purge.keys


def test_the_same_keys_are_purged_again_later(proxy, story, committed, settings):
    settings.NEWSAPP_PROXY_REPURGE_SECONDS = 0.3
    proxy.clear()
    with committed():
        retitle(story, "Harbour strike ends at dawn")
    first, second = proxy.wait_for(2)
    assert first.keys == second.keys
    assert second.at - first.at >= 0.25


def test_many_keys_go_in_several_requests():
    fake = start_fake_proxy()
    try:
        keys = [surrogate.story(pk) for pk in range(1000)]
        assert purges.send(keys, urls=[fake.url], timeout=2.0) == {fake.url: None}
        assert len(fake.purges) == 3
        assert sorted(fake.purged_keys()) == sorted(keys)
        assert all(len(" ".join(purge.keys)) < 8000 for purge in fake.purges)  # Varnish's header limit
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def test_every_proxy_is_purged(proxy, story, committed, settings):
    second = start_fake_proxy()
    try:
        settings.NEWSAPP_PROXY_PURGE_URLS = [proxy.url, second.url]
        proxy.clear()
        with committed():
            retitle(story, "Harbour strike ends at dawn")
        assert (
            proxy.purged_keys() == second.purged_keys() and surrogate.story(story.pk) in second.purged_keys()
        )
    finally:
        second.server.shutdown()
        second.server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def test_a_proxy_refusing_connections_costs_the_save_nothing_but_a_warning(
    story, committed, settings, caplog
):
    settings.NEWSAPP_PROXY_PURGE_URLS = [f"http://127.0.0.1:{closed_port()}/"]
    settings.NEWSAPP_PROXY_PURGE_TIMEOUT, settings.NEWSAPP_PROXY_REPURGE_SECONDS = 0.5, 0
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=purges.__name__), committed():
        retitle(story, "Harbour strike ends at dawn")
    assert time.monotonic() - started < 0.5
    assert Article.objects.get(pk=story.pk).title == "Harbour strike ends at dawn"
    assert "proxy purge of" in caplog.text and "refused" in caplog.text.lower()


def test_a_proxy_that_never_answers_costs_the_save_the_timeout(proxy, story, committed, settings, caplog):
    proxy.delay = 5.0
    settings.NEWSAPP_PROXY_PURGE_TIMEOUT = 0.3
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=purges.__name__), committed():
        retitle(story, "Harbour strike ends at dawn")
    took = time.monotonic() - started
    assert 0.3 <= took < 1.0, took
    assert "no answer within 0.3 s" in caplog.text or "timed out" in caplog.text


def test_a_proxy_refusing_the_purge_is_logged(proxy, story, committed, caplog):
    proxy.status = 403
    with caplog.at_level(logging.WARNING, logger=purges.__name__), committed():
        retitle(story, "Harbour strike ends at dawn")
    assert "answered 403" in caplog.text


def test_without_a_proxy_no_key_is_worked_out(story, settings, committed, django_assert_num_queries):
    """One server, no proxy: a save costs what it cost before (no query to find old sections)."""
    settings.NEWSAPP_PROXY_PURGE_URLS = []
    story = Article.objects.get(pk=story.pk)
    with django_assert_num_queries(1):  # the UPDATE alone
        story.save(update_fields=["title"])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_management_command_purges_after_its_commit(proxy, tmp_path):
    """No request, no test transaction: the command's own commit sends the purge."""
    import_one_story(tmp_path, title="Harbour strike ends")
    story = Article.objects.get(slug="harbour-strike")
    assert {
        surrogate.story(story.pk),
        surrogate.HOME,
        surrogate.section(story.category_id),
    } <= proxy.purged_keys()
    proxy.clear()
    import_one_story(tmp_path, title="Harbour strike ends at dawn")
    assert surrogate.story(story.pk) in proxy.purged_keys()
    proxy.clear()
    import_one_story(tmp_path, title="Harbour strike ends at dawn", status="draft")  # unpublished
    assert {surrogate.story(story.pk), surrogate.HOME, surrogate.FEEDS} <= proxy.purged_keys()
    proxy.clear()
    story = Article.objects.get(pk=story.pk)
    story.status = Article.Status.PUBLISHED
    story.save()  # a script's save in autocommit: purged as it returns
    assert surrogate.section(story.category_id) in proxy.purged_keys()
