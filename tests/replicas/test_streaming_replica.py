"""Read-your-writes on a real streaming replica (pg_basebackup of the test server, tests/replicas/
standby.py), paused, lagging and stopped on purpose: an editor always sees their own save, a reader
never sees a draft, and no page is rendered from a replica that has not replayed the change it shows.

Which database served a request is seen from the queries each connection ran (the test client runs
the request in this thread, on these connections)."""

import time

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Article
from newsapp.replicas import middleware
from newsapp.replicas.health import CHECK_SQL, health, replica_status
from newsapp.replicas.routing import DEFAULT, REPLICA
from tests.admin.test_admin import browser_post
from tests.factories import ArticleFactory, CategoryFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=[DEFAULT, REPLICA]),
]


@pytest.fixture
def replica(real_replica, replica_on):
    """The replica replaying and caught up with the primary; page cache and fragments off unless a
    test turns them on (a write the content version does not count must not hide behind them)."""
    replica_on.NEWSAPP_PAGE_CACHE_SECONDS = 0
    replica_on.NEWSAPP_FRAGMENT_CACHE = False
    with real_replica.exclusive():
        real_replica.resume()
        real_replica.wait_caught_up()
        yield real_replica
        real_replica.resume()


def fetch(client, path):
    """The answer, and how many queries the replica and the primary ran for it (the replica's own
    health check left out: it runs whoever reads)."""
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT]) as on_primary,
    ):
        response = client.get(path)
    reads = [query for query in on_replica if query["sql"] != CHECK_SQL]
    return response, len(reads), len(on_primary)


def fetch_from_replica(client, path):
    """fetch() once a check has found the replica usable, that measurement kept for the request:
    a write by another test worker (or anything else on this server) between the check and the
    request could make the replica look a moment behind, and send the request to the primary."""
    deadline = time.monotonic() + 10
    while not health.current().usable():
        assert time.monotonic() < deadline, f"the replica stayed unusable: {replica_status()}"
        time.sleep(0.05)
    health.due = float("inf")
    try:
        return fetch(client, path)
    finally:
        health.due = 0.0


def title_on_replica(replica, story) -> str:
    name = connections[DEFAULT].settings_dict["NAME"]
    return replica.execute("SELECT title FROM articles_article WHERE id = %s", (story.pk,), dbname=name)[0][0]


def test_a_reader_reads_from_the_caught_up_replica(replica):
    story = ArticleFactory(title="Harbour talks resume")
    replica.wait_caught_up()
    response, on_replica, _ = fetch_from_replica(Client(), story.get_absolute_url())
    assert response.status_code == 200
    assert "Harbour talks resume" in response.text
    assert on_replica > 0
    status = replica_status()
    assert status["up"] is True
    assert status["lag_seconds"] <= 5.0


def test_an_editor_sees_their_own_save_at_once_while_the_replica_is_paused(
    replica, editor_client, monkeypatch, settings
):
    settings.NEWSAPP_REPLICA_MAX_LAG = 60.0  # a paused replica's lag grows: not what is tested here
    story = ArticleFactory(title="First title")
    replica.wait_caught_up()
    replica.pause()
    change = reverse("admin:articles_article_change", args=[story.pk])
    assert browser_post(editor_client, change, title="Second title").status_code == 302
    assert title_on_replica(replica, story) == "First title"  # the replica has not replayed the save
    # A reader too: the replica has not replayed the change the content version counts.
    response, on_replica, _ = fetch(Client(), story.get_absolute_url())
    assert ("Second title" in response.text, on_replica) == (True, 0)
    # The editor reads the primary because they are signed in (or in the admin), not thanks to the
    # content LSN nor to the pin their save set: without either, they still see their save while
    # a reader gets the replica's old copy.
    monkeypatch.setattr(middleware, "required_lsn", lambda version: 0)
    del editor_client.cookies[middleware.PINNED_COOKIE]
    for path in (change, story.get_absolute_url(), reverse("admin:articles_article_changelist")):
        response, on_replica, _ = fetch(editor_client, path)
        assert response.status_code == 200
        assert "Second title" in response.text, path
        assert on_replica == 0, path
    response, on_replica, _ = fetch_from_replica(Client(), story.get_absolute_url())
    assert "First title" in response.text
    assert on_replica > 0


def test_a_reader_who_wrote_reads_from_the_primary_while_pinned(replica, settings):
    """A write the content version does not count (an update without signals, standing for anything
    a reader's own request may write): only the pin brings it to them at once."""
    settings.NEWSAPP_REPLICA_MAX_LAG = 60.0  # a paused replica's lag grows: not what is tested here
    story = ArticleFactory(title="Old headline")
    replica.wait_caught_up()
    replica.pause()
    writer, other = Client(), Client()
    assert writer.post("/admin/login/", {"username": "reader", "password": "wrong"}).status_code == 200
    assert middleware.PINNED_COOKIE in writer.cookies
    Article.objects.filter(pk=story.pk).update(title="New headline")
    response, on_replica, _ = fetch(writer, story.get_absolute_url())
    assert "New headline" in response.text
    assert on_replica == 0
    # Everyone else still reads the replica, which has not replayed it yet.
    response, on_replica, _ = fetch_from_replica(other, story.get_absolute_url())
    assert "Old headline" in response.text
    assert on_replica > 0


def test_a_reader_never_sees_a_draft_from_either_database(replica):
    section = CategoryFactory(slug="world")
    draft = ArticleFactory(title="Draft for tomorrow", draft=True, category=section)
    live = ArticleFactory(title="Going back to draft", category=section)
    replica.wait_caught_up()
    reader = Client()
    response, on_replica, _ = fetch_from_replica(reader, draft.get_absolute_url())
    assert response.status_code == 404
    assert on_replica > 0  # refused by the replica's copy
    replica.pause()
    live.status = Article.Status.DRAFT
    live.save()
    assert title_on_replica(replica, live) == "Going back to draft"
    for path in (live.get_absolute_url(), "/", "/world/", "/feed/"):
        response, on_replica, _ = fetch(reader, path)
        assert response.status_code in (200, 404)
        assert "Going back to draft" not in response.text, path
        assert "Draft for tomorrow" not in response.text, path
        assert on_replica == 0, path
    assert fetch(reader, live.get_absolute_url())[0].status_code == 404
    replica.resume()
    replica.wait_caught_up()
    response, on_replica, _ = fetch_from_replica(reader, live.get_absolute_url())
    assert response.status_code == 404
    assert on_replica > 0


def test_a_replica_further_behind_than_the_limit_is_skipped_until_it_catches_up(replica, settings):
    settings.NEWSAPP_REPLICA_MAX_LAG = 1.0
    story = ArticleFactory(title="Before the burst")
    replica.wait_caught_up()
    replica.pause()
    Article.objects.filter(pk=story.pk).update(title="After the burst")  # counted by no content version
    deadline = time.monotonic() + 15
    while (lag := health.current().lag_seconds) is None or lag <= 1.0:
        assert time.monotonic() < deadline, f"the paused replica's lag stayed at {lag}"
        time.sleep(0.1)
    reader = Client()
    response, on_replica, _ = fetch(reader, story.get_absolute_url())
    assert "After the burst" in response.text
    assert on_replica == 0
    assert "replica: behind (lag" in reader.get("/healthz/ready").text
    replica.resume()
    replica.wait_caught_up()
    response, on_replica, _ = fetch_from_replica(reader, story.get_absolute_url())
    assert "After the burst" in response.text
    assert on_replica > 0
    assert replica_status()["lag_seconds"] <= 1.0


def test_after_a_publish_no_page_is_rendered_from_a_replica_that_has_not_replayed_it(replica, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    settings.NEWSAPP_FRAGMENT_CACHE = True
    section = CategoryFactory(slug="world")
    ArticleFactory(title="Already out", category=section)
    replica.wait_caught_up()
    reader = Client()
    response, on_replica, _ = fetch_from_replica(reader, "/")
    assert "Already out" in response.text
    assert (response["X-Page-Cache"], on_replica > 0) == ("miss", True)
    replica.pause()
    for round_ in range(4):
        story = ArticleFactory(title=f"Breaking number {round_}", category=section)
        for path in ("/", "/world/", story.get_absolute_url()):
            response, on_replica, _ = fetch(reader, path)
            assert f"Breaking number {round_}" in response.text, path
            assert on_replica == 0, path
        story.status = Article.Status.DRAFT
        story.save()
        for path in ("/", "/world/"):
            response, on_replica, _ = fetch(reader, path)
            assert f"Breaking number {round_}" not in response.text, path
        assert fetch(reader, story.get_absolute_url())[0].status_code == 404
    replica.resume()
    ArticleFactory(title="After the pause", category=section)
    replica.wait_caught_up()
    response, on_replica, _ = fetch_from_replica(reader, "/")
    assert "After the pause" in response.text
    assert (response["X-Page-Cache"], on_replica > 0) == ("miss", True)  # the replica serves again


def test_without_the_content_lsn_a_paused_replica_would_serve_the_old_front_page(
    replica, settings, monkeypatch
):
    """The control: what the content LSN prevents really happens without it."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    settings.NEWSAPP_REPLICA_MAX_LAG = 60.0
    section = CategoryFactory(slug="world")
    ArticleFactory(title="Already out", category=section)
    replica.wait_caught_up()
    replica.pause()
    ArticleFactory(title="Breaking news", category=section)
    monkeypatch.setattr(middleware, "required_lsn", lambda version: 0)
    response, on_replica, _ = fetch_from_replica(Client(), "/")
    assert "Already out" in response.text
    assert "Breaking news" not in response.text
    assert on_replica > 0


def test_a_stopped_replica_costs_readers_nothing(replica):
    story = ArticleFactory(title="Still readable")
    replica.wait_caught_up()
    reader = Client()  # raises any error a request did not handle
    assert fetch_from_replica(reader, story.get_absolute_url())[1] > 0  # an open connection to the replica
    health.due = float("inf")  # the last check said "up" and is not repeated
    replica.stop()
    try:
        # The replica goes away under the request (its connection is dead): retried on the primary.
        response = reader.get(story.get_absolute_url())
        assert (response.status_code, "Still readable" in response.text) == (200, True)
        assert replica_status()["up"] is False
        assert replica_status()["fallbacks"] == 1
        # Down until its next check: the next readers go straight to the primary (no new failure).
        assert reader.get("/").status_code == 200
        assert replica_status()["fallbacks"] == 1
        # Marked up again with no connection: the request cannot even connect. Retried too.
        health.state, health.due = type(health.state)(True, 0.0, 2**62, time.time()), float("inf")
        response = reader.get(story.get_absolute_url())
        assert (response.status_code, "Still readable" in response.text) == (200, True)
        assert replica_status()["fallbacks"] == 2
        # The next check finds it down, at once.
        health.due = 0.0
        started = time.monotonic()
        assert reader.get("/").status_code == 200
        assert time.monotonic() - started < 2
        assert replica_status()["error"] == "OperationalError"
        assert replica_status()["fallbacks"] == 2
    finally:
        replica.start()
    replica.wait_caught_up()
    response, on_replica, _ = fetch_from_replica(reader, story.get_absolute_url())
    assert (response.status_code, on_replica > 0) == (200, True)
