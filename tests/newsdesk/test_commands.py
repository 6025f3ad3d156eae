"""The operator's commands: `feeds add|list|schedule`, `fetch_feeds [--now] [--feed ID]` and
`story_candidates [--json]`: what they print, their JSON's shape, bad input and exit codes."""

import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, ManagementUtility, base, call_command
from django.utils import timezone

from articles.models import Source
from newsdesk import tasks
from newsdesk.fetching.robots import robots_clear
from newsdesk.models import Candidate, Feed, Piece, Summary
from newsdesk.queued import waiting_calls
from tests.factories import SourceFactory
from tests.newsdesk.servers import Reply, serve
from tests.newsdesk.tasks_helpers import feed_xml, page_html

pytestmark = pytest.mark.django_db
ITEMS = 2


@pytest.fixture(autouse=True)
def fetching(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True  # the outlet is on 127.0.0.1
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    settings.NEWSAPP_FETCH_TIMEOUT = 5
    robots_clear()
    yield
    robots_clear()


@pytest.fixture
def outlet():
    """An outlet's site: a feed with an ETag (304 to a request that sends it back), its pages, and
    /broken.xml answering 500."""
    holder = {}

    def feed(request):
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"'})
        body = feed_xml(holder["origin"], ITEMS)
        return Reply(body=body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    routes = {"/feed.xml": feed, "/broken.xml": Reply(500, b"down")}
    routes |= {f"/story-{i}": Reply(body=page_html(i), content_type="text/html") for i in range(ITEMS)}
    with serve(routes) as server:
        holder["origin"] = server.origin
        yield server


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def exit_code(argv: list[str], capsys) -> tuple[int, str]:
    """The command run as from the shell (manage.py ARGS): its exit status and stderr. Django closes
    the database connections after a command run so; the test's own is kept open."""
    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as stopped:
        patch.setattr(base.connections, "close_all", lambda: None)
        ManagementUtility(["manage.py", *argv]).execute()
    return stopped.value.code, capsys.readouterr().err


# --- feeds add --------------------------------------------------------------------------------------


def test_feeds_add_stores_the_feed_and_queues_its_first_fetch(django_capture_on_commit_callbacks):
    SourceFactory(domain="bbc.co.uk")
    with django_capture_on_commit_callbacks(execute=True):
        out = run("feeds", "add", " https://feeds.bbc.co.uk/news/rss.xml ", "--outlet", "BBC.co.uk")
    feed = Feed.objects.get()
    assert (feed.outlet.domain, feed.url, feed.active) == (
        "bbc.co.uk",
        "https://feeds.bbc.co.uk/news/rss.xml",
        True,
    )
    assert f"Added feed #{feed.pk} of bbc.co.uk: https://feeds.bbc.co.uk/news/rss.xml" in out
    assert f"fetch_feeds --now --feed {feed.pk}" in out
    assert waiting_calls(tasks.fetch_feed_task) == [{"feed_id": feed.pk}]


@pytest.mark.parametrize(
    ("url", "outlet", "message"),
    [
        ("https://x.example/rss", "nowhere.example", "No outlet with the domain 'nowhere.example'"),
        ("feeds.example/rss", "bbc.co.uk", "'feeds.example/rss' is not a feed address: Enter a"),
        (
            "ftp://feeds.example/rss",
            "bbc.co.uk",
            "is not a feed address: Enter a web address that starts with http",
        ),
        ("https://taken.example/rss", "bbc.co.uk", "https://taken.example/rss is already feed #"),
        (
            "https://x.example/" + "a" * 1000,
            "bbc.co.uk",
            "is not a feed address: Ensure this value has at most 1000",
        ),
    ],
)
def test_feeds_add_refuses_bad_input_with_a_clear_error_and_exit_code(url, outlet, message, capsys):
    bbc = SourceFactory(domain="bbc.co.uk")
    Feed.objects.create(outlet=SourceFactory(domain="other.example"), url="https://taken.example/rss")
    with pytest.raises(CommandError) as refused:
        call_command("feeds", "add", url, "--outlet", outlet)
    assert message in str(refused.value)
    assert not bbc.feeds.exists()
    code, err = exit_code(["feeds", "add", url, "--outlet", outlet], capsys)
    assert code == 1 and message in err
    assert Feed.objects.count() == 1


def test_feeds_add_without_an_outlet_is_a_usage_error(capsys):
    code, err = exit_code(["feeds", "add", "https://x.example/rss"], capsys)
    assert code == 2 and "--outlet" in err


# --- feeds list -------------------------------------------------------------------------------------


def feeds_with_states() -> tuple[Feed, Feed]:
    good = Feed.objects.create(outlet=SourceFactory(domain="a.example"), url="https://a.example/rss")
    bad = Feed.objects.create(outlet=SourceFactory(domain="b.example"), url="https://b.example/atom")
    at = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    Feed.objects.filter(pk=good.pk).update(
        last_fetched_at=at,
        last_status=Feed.Status.OK,
        last_http_status=200,
        items_seen=40,
        pieces_added=12,
        next_fetch_at=timezone.now() + timedelta(hours=1),
    )
    Feed.objects.filter(pk=bad.pk).update(
        last_fetched_at=at,
        last_status=Feed.Status.ERROR,
        last_http_status=503,
        error_count=3,
        last_error="BadStatus: the server answered 503\nService Unavailable " + "x" * 100,
        next_fetch_at=timezone.now() - timedelta(minutes=1),
    )
    good.refresh_from_db()
    bad.refresh_from_db()
    return good, bad


def test_feeds_list_shows_each_feeds_state_in_a_table():
    good, _bad = feeds_with_states()
    lines = run("feeds", "list").splitlines()
    columns = [
        "id",
        "outlet",
        "url",
        "last fetch",
        "last status",
        "items",
        "next poll",
        "errors",
        "last error",
    ]
    assert re.split(r"\s{2,}", lines[0]) == columns
    assert len(lines) == 3
    fetched = timezone.localtime(good.last_fetched_at).strftime("%Y-%m-%d %H:%M")
    assert lines[1].split()[:7] == [
        str(good.pk),
        "a.example",
        "https://a.example/rss",
        *fetched.split(),
        "ok",
        "(200)",
    ]
    assert lines[1].split()[7] == "40"
    assert "due now" in lines[2] and "error (503)" in lines[2]
    assert "BadStatus: the server answered 503 Service Unavailable" in lines[2]
    assert lines[2].endswith("…") and "\n" not in lines[2]


def test_feeds_list_json_has_every_field():
    good, bad = feeds_with_states()
    entries = json.loads(run("feeds", "list", "--json"))
    assert [entry["id"] for entry in entries] == [good.pk, bad.pk]
    assert entries[0] == {
        "id": good.pk,
        "outlet": "a.example",
        "url": "https://a.example/rss",
        "active": True,
        "last_fetched_at": good.last_fetched_at.isoformat(),
        "last_status": "ok",
        "last_http_status": 200,
        "items": 40,
        "pieces_added": 12,
        "poll_interval_seconds": 1800,
        "next_fetch_at": good.next_fetch_at.isoformat(),
        "leased_until": None,
        "errors": 0,
        "last_error": "",
    }
    assert entries[1]["errors"] == 3 and entries[1]["last_error"].startswith("BadStatus")
    assert [e["id"] for e in json.loads(run("feeds", "list", "--json", "--outlet", "B.example"))] == [bad.pk]


def test_feeds_list_without_feeds_says_how_to_add_one():
    assert "manage.py feeds add URL --outlet DOMAIN" in run("feeds", "list")
    assert json.loads(run("feeds", "list", "--json")) == []


def test_feeds_schedule_queues_one_sweeper():
    assert "Queued the feed sweeper" in run("feeds", "schedule")
    assert "queued already; nothing to do" in run("feeds", "schedule")
    assert len(waiting_calls(tasks.poll_feeds)) == 1


# --- fetch_feeds ------------------------------------------------------------------------------------


def test_fetch_feeds_now_fetches_every_active_feed_and_says_what_it_did(outlet):
    site = SourceFactory(domain="harbour.example")
    good = Feed.objects.create(outlet=site, url=outlet.url("/feed.xml"))
    broken = Feed.objects.create(outlet=site, url=outlet.url("/broken.xml"))
    Feed.objects.create(outlet=site, url=outlet.url("/off.xml"), active=False)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"1 feed\(s\) failed") as failed:
        call_command("fetch_feeds", "--now", stdout=out)
    assert failed.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(
        f"#{good.pk} harbour.example {good.url}: fetched (200): 2 items, 2 new pieces; next in"
    )
    assert lines[1].startswith(f"#{broken.pk} harbour.example {broken.url}: failed (HTTP 500): ")
    assert "1 in a row, next in" in lines[1]
    assert lines[2] == "2 feed(s): 1 fine, 1 failed."
    assert Piece.objects.filter(feed=good).count() == ITEMS
    assert "/off.xml" not in {seen.path for seen in outlet.requests}

    # Fetched again at once, not due: a conditional request, answered 304.
    out = run("fetch_feeds", "--now", "--feed", str(good.pk))
    assert f"#{good.pk} harbour.example {good.url}: not modified (304); next in" in out
    assert outlet.requests[-1].headers.get("if-none-match") == '"v1"'


def test_fetch_feeds_without_now_fetches_only_the_due_feeds(outlet):
    site = SourceFactory(domain="harbour.example")
    due = Feed.objects.create(outlet=site, url=outlet.url("/feed.xml"))
    later = Feed.objects.create(outlet=site, url=outlet.url("/later.xml"))
    Feed.objects.filter(pk=later.pk).update(next_fetch_at=timezone.now() + timedelta(hours=1))
    out = run("fetch_feeds")
    assert f"#{due.pk} " in out and f"#{later.pk} " not in out
    assert "No feed is due" in run("fetch_feeds")


def test_fetch_feeds_leaves_a_feed_another_worker_is_fetching(outlet):
    feed = Feed.objects.create(outlet=SourceFactory(), url=outlet.url("/feed.xml"))
    Feed.objects.filter(pk=feed.pk).update(leased_until=timezone.now() + timedelta(minutes=5))
    out = run("fetch_feeds", "--now", "--feed", str(feed.pk))
    assert "skipped: being fetched by another worker" in out
    assert "1 feed(s): 0 fine, 1 skipped (another worker is fetching them), 0 failed." in out
    assert outlet.requests == []


def test_fetch_feeds_refuses_an_unknown_or_inactive_feed(capsys):
    inactive = Feed.objects.create(outlet=SourceFactory(), url="https://off.example/rss", active=False)
    code, err = exit_code(["fetch_feeds", "--now", "--feed", "999999"], capsys)
    assert code == 1 and "No feed #999999" in err
    code, err = exit_code(["fetch_feeds", "--now", "--feed", str(inactive.pk)], capsys)
    assert code == 1 and f"Feed #{inactive.pk} is inactive" in err
    code, err = exit_code(["fetch_feeds", "--feed", "x"], capsys)
    assert code == 2 and "invalid int value" in err


def test_fetch_feeds_shows_a_progress_bar_in_a_terminal_only(outlet):
    Feed.objects.create(outlet=SourceFactory(), url=outlet.url("/feed.xml"))
    plain = run("fetch_feeds", "--now")  # StringIO: not a terminal
    assert "Fetching" not in plain and "\r" not in plain
    barred = run("fetch_feeds", "--now", "--progress")
    assert "Fetching: 100%" in barred and "1/1" in barred


# --- story_candidates -------------------------------------------------------------------------------


def candidate_with_pieces(title, outlets, *, hours_ago=1, summary=None, status=Candidate.Status.OPEN):
    moment = timezone.now() - timedelta(hours=hours_ago)
    candidate = Candidate.objects.create(
        title=title,
        status=status,
        first_published_at=moment,
        last_published_at=moment,
        outlets_count=len(outlets),
    )
    for i, outlet in enumerate(outlets):
        Piece.objects.create(
            outlet=outlet,
            candidate=candidate,
            url=f"https://{outlet.domain}/{candidate.pk}-{i}",
            title=f"{title} ({outlet.domain})",
            published_at=moment + timedelta(minutes=i),
        )
    if summary:
        Summary.objects.create(candidate=candidate, text="Old draft.", method=Summary.Method.EXTRACTIVE)
        Summary.objects.create(candidate=candidate, text=summary, method=Summary.Method.EXTRACTIVE)
    return candidate


def test_story_candidates_json_lists_the_open_candidates_most_covered_first():
    left = SourceFactory(domain="left.example", bias=Source.Lean.LEFT)
    center = SourceFactory(domain="center.example", bias=Source.Lean.CENTER)
    unrated = SourceFactory(domain="unrated.example", bias=Source.Lean.UNRATED)
    small = candidate_with_pieces("Ferry terminal opens", [unrated], hours_ago=0)
    big = candidate_with_pieces("Budget passes", [left, center], summary="Lead paragraph.\n\nMore.")
    candidate_with_pieces("Dismissed one", [left], status=Candidate.Status.DISMISSED)

    entries = json.loads(run("story_candidates", "--json"))
    assert [entry["id"] for entry in entries] == [big.pk, small.pk]
    first = entries[0]
    assert set(first) == {"id", "title", "outlets", "bias", "summary", "pieces"}
    assert first["title"] == "Budget passes" and first["outlets"] == 2
    assert first["bias"] == {"left": 50, "center": 50, "right": 0}
    assert first["summary"] == "Lead paragraph.\n\nMore."
    piece = Piece.objects.get(candidate=big, outlet=left)
    assert first["pieces"][0] == {
        "url": piece.url,
        "outlet": "left.example",
        "title": "Budget passes (left.example)",
        "published_at": piece.published_at.isoformat(),
    }
    assert [p["outlet"] for p in first["pieces"]] == ["left.example", "center.example"]
    assert entries[1]["bias"] is None and entries[1]["summary"] is None


def test_story_candidates_readable_list():
    assert run("story_candidates").strip() == "No open story candidates."
    assert json.loads(run("story_candidates", "--json")) == []
    outlet = SourceFactory(domain="left.example", bias=Source.Lean.LEFT)
    candidate = candidate_with_pieces("Budget passes", [outlet], summary="Lead paragraph.\n\nMore.")
    out = run("story_candidates")
    assert f"#{candidate.pk} Budget passes" in out
    assert "1 outlet(s); left 100% / center 0% / right 0%" in out
    assert "Summary: Lead paragraph." in out and "More." not in out
    assert "left.example: Budget passes (left.example)" in out
    assert f"https://left.example/{candidate.pk}-0" in out
