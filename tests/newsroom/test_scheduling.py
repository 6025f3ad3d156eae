"""Scheduling without a cron job: publish times typed and shown in the site's zone and stored in UTC,
daylight-saving gaps and repeats refused in plain words, and a scheduled story appearing on every
public surface at its moment, cached pages included, with nothing running in the background.

Time is frozen on both sides of each moment, across both of London's clock changes in 2027
(forward on 28 March at 01:00 GMT, back on 31 October at 02:00 BST).
"""

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from articles.models import Article
from articles.site import sitemaps
from tests.admin.test_admin import ADD, CHANGELIST, browser_post, story
from tests.conftest import signed_in_client
from tests.factories import ArticleFactory, ArticleSourceFactory, CategoryFactory, SourceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_memory_cache")]

WINTER = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2027, 7, 15, 12, 0, tzinfo=UTC)
BEFORE_SPRING = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)  # Saturday noon, GMT: the clocks change tonight
BEFORE_AUTUMN = datetime(2027, 10, 30, 12, 0, tzinfo=UTC)  # Saturday 13:00 BST


@pytest.fixture(autouse=True)
def london(settings):
    settings.TIME_ZONE = "Europe/London"


@pytest.fixture
def signed_in():
    """signed_in(user) -> a client of its own, logged in now (call it inside freeze_time: a session
    made at the real time has long expired in 2027)."""

    return signed_in_client


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def help_text(html, field):
    match = re.search(rf'<div class="help" id="id_{field}_helptext">\s*<div>(.*?)</div>', html, re.S)
    assert match, f"no help text for {field}"
    return match.group(1)


def field_errors(html, field):
    """The error list the admin shows in the row of one field."""
    row = html[html.index(f'class="form-row field-{field}') :]
    row = row[: row.index('<div class="form-row', 1)] if '<div class="form-row' in row[1:] else row
    return re.findall(r'<ul class="errorlist"[^>]*>\s*<li>(.*?)</li>', row, re.S)


# --- The form names the zone; times go in and come out in it; the database holds UTC ----------------


@pytest.mark.parametrize(
    ("zone", "when", "expected"),
    [
        ("Europe/London", WINTER, "Times are in Europe/London time (now GMT, UTC+00:00)."),
        ("Europe/London", SUMMER, "Times are in Europe/London time (now BST, UTC+01:00)."),
        ("America/New_York", WINTER, "Times are in America/New_York time (now EST, UTC-05:00)."),
    ],
)
def test_the_publish_time_names_the_sites_time_zone(signed_in, editor, settings, zone, when, expected):
    settings.TIME_ZONE = zone
    with freeze_time(when):
        client = signed_in(editor)
        for url in (ADD, change_url(ArticleFactory())):
            text = help_text(client.get(url).content.decode(), "published_at")
            assert text.startswith(expected), text
            assert "A time in the future schedules the story." in text


def test_a_local_time_is_stored_in_utc_and_shown_back_in_local_time(signed_in, editor, client):
    with freeze_time(BEFORE_SPRING):
        editor_client = signed_in(editor)
        response = browser_post(
            editor_client,
            ADD,
            **story(status="published", published_at_0="28/03/2027", published_at_1="09:00"),
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        article = Article.objects.get(slug="talks-resume")
        # 09:00 in London on 28 March 2027 is BST (the clocks went forward at 01:00 GMT): 08:00 UTC.
        assert article.published_at == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
        with connection.cursor() as cursor:  # what the column holds, read without the ORM
            cursor.execute(
                "SELECT CAST(published_at AS TEXT) FROM articles_article WHERE id = %s", [article.pk]
            )
            assert cursor.fetchone()[0].startswith("2027-03-28 08:00:00")
        form = editor_client.get(change_url(article)).content.decode()
        assert 'name="published_at_0" value="28/03/2027"' in form
        assert 'name="published_at_1" value="09:00:00"' in form
        listing = editor_client.get(CHANGELIST).content.decode()
        assert (
            '<td class="field-publish_time"><time datetime="2027-03-28T08:00:00+00:00">'
            "28 Mar 2027, 09:00 BST</time></td>"
        ) in listing


def test_the_same_words_in_another_zone_are_another_moment(signed_in, editor, settings):
    settings.TIME_ZONE = "America/New_York"
    with freeze_time(BEFORE_SPRING):
        response = browser_post(
            signed_in(editor),
            ADD,
            **story(status="published", published_at_0="2027-03-28", published_at_1="09:00"),
        )
        assert response.status_code == 302
    # New York moved to daylight time (UTC-4) on 14 March.
    assert Article.objects.get().published_at == datetime(2027, 3, 28, 13, 0, tzinfo=UTC)


DST_ERRORS = {
    "skipped": (
        "28/03/2027",
        "01:30",
        "28 March 2027, 01:30 does not exist in Europe/London: the clocks go forward that night "
        "(from GMT to BST) and skip it. Choose a time before or after the skipped hour.",
    ),
    "repeated": (
        "31/10/2027",
        "01:30",
        "31 October 2027, 01:30 happens twice in Europe/London: the clocks go back that night "
        "(from BST to GMT), so it is not clear which one you mean. Choose a time outside the repeated hour.",
    ),
}


@pytest.mark.parametrize("case", DST_ERRORS)
def test_a_time_the_clocks_skip_or_repeat_is_refused_in_plain_words(signed_in, editor, case):
    day, clock, message = DST_ERRORS[case]
    article = ArticleFactory(draft=True, title="Budget day")
    with freeze_time(BEFORE_SPRING):
        client = signed_in(editor)
        response = browser_post(
            client,
            change_url(article),
            title="Budget day, changed",
            status="published",
            published_at_0=day,
            published_at_1=clock,
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert field_errors(html, "published_at") == [message]
        assert 'value="Budget day, changed"' in html  # what the editor typed is kept
        added = browser_post(
            client, ADD, **story(status="published", published_at_0=day, published_at_1=clock)
        )
        assert field_errors(added.content.decode(), "published_at") == [message]
    article.refresh_from_db()
    assert (article.title, article.status, article.published_at) == ("Budget day", "draft", None)
    assert not Article.objects.filter(slug="talks-resume").exists()


def test_a_stored_time_in_the_repeated_hour_survives_a_save_that_leaves_it_alone(editor_client):
    """An imported story scheduled for the second 01:15 of the night the clocks go back: its form shows
    01:15, which alone could be either; saved unchanged, the story keeps its own moment."""
    year = timezone.now().year + 1
    second = datetime.combine(last_sunday(year, 10), time(1, 15), tzinfo=UTC)  # 01:15 GMT
    article = ArticleFactory(title="Clock story", published_at=second)
    url = change_url(article)
    assert 'name="published_at_1" value="01:15:00"' in editor_client.get(url).content.decode()
    assert browser_post(editor_client, url, title="Clock story, edited").status_code == 302
    article.refresh_from_db()
    assert (article.title, article.published_at) == ("Clock story, edited", second)
    # Typed afresh, the same words are still refused: they could mean either moment.
    response = browser_post(editor_client, url, published_at_1="01:16")
    assert field_errors(response.content.decode(), "published_at")[0].endswith(
        "Choose a time outside the repeated hour."
    )


@pytest.mark.parametrize(
    ("day", "clock", "utc"),
    [
        ("28/03/2027", "00:59", datetime(2027, 3, 28, 0, 59, tzinfo=UTC)),  # last minute of GMT
        ("28/03/2027", "02:00", datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),  # first minute of BST
        ("31/10/2027", "00:59", datetime(2027, 10, 30, 23, 59, tzinfo=UTC)),  # BST, before the repeat
        ("31/10/2027", "02:00", datetime(2027, 10, 31, 2, 0, tzinfo=UTC)),  # GMT, after it
    ],
)
def test_times_beside_a_clock_change_are_accepted(signed_in, editor, day, clock, utc):
    with freeze_time(BEFORE_SPRING):
        response = browser_post(
            signed_in(editor), ADD, **story(status="published", published_at_0=day, published_at_1=clock)
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    assert Article.objects.get().published_at == utc


# --- The admin list: the badge says when, in the site's zone ---------------------------------------


BADGE = re.compile(r'<span class="scheduled-at"> · <time datetime="([^"]+)">([^<]+)</time></span>')


def test_the_scheduled_badge_says_when_in_the_sites_zone(signed_in, editor):
    spring = ArticleFactory(title="Spring story", published_at=datetime(2027, 3, 28, 8, 0, tzinfo=UTC))
    ArticleFactory(title="Next year story", published_at=datetime(2028, 1, 5, 18, 30, tzinfo=UTC))
    with freeze_time(BEFORE_SPRING):
        html = signed_in(editor).get(CHANGELIST).content.decode()
    assert dict(BADGE.findall(html)) == {
        spring.published_at.isoformat(): "28 Mar 2027, 09:00 BST",
        "2028-01-05T18:30:00+00:00": "5 Jan 2028, 18:30 GMT",
    }
    assert html.count('class="badge badge-scheduled">Scheduled</span>') == 2


def test_the_list_and_the_form_write_every_time_alike_in_the_sites_zone(signed_in, editor):
    with freeze_time(datetime(2027, 7, 1, 11, 5, tzinfo=UTC)):
        article = ArticleFactory(title="Summer story", published_at=datetime(2027, 7, 2, 8, 30, tzinfo=UTC))
        client = signed_in(editor)
        listing = client.get(CHANGELIST).content.decode()
        form = client.get(change_url(article)).content.decode()
    row = re.search(r"<tr>(?:(?!</tr>).)*Summer story.*?</tr>", listing, re.S).group(0)
    # The Scheduled badge and the publish time column: the same words for the same moment.
    assert (
        re.findall(r"<time datetime=\"2027-07-02T08:30:00\+00:00\">([^<]+)</time>", row)
        == ["2 Jul 2027, 09:30 BST"] * 2
    )
    for label in ("Created", "Last saved"):
        assert re.search(
            rf"<label>{label}:</label>\s*<div class=\"readonly\">"
            r'<time datetime="2027-07-01T11:05:00\+00:00">1 Jul 2027, 12:05 BST</time>',
            form,
        ), label


def last_sunday(year, month) -> date:
    return date(year, month, max(week[calendar.SUNDAY] for week in calendar.monthcalendar(year, month)))


def test_the_badge_names_the_right_side_of_the_repeated_hour(editor_client):
    """01:15 happens twice the night the clocks go back; the badge says which (GMT: the second).

    On the real clock: freezegun's datetimes lose the `fold` that tells the two apart.
    """
    year = timezone.now().year + 1
    fall_back = last_sunday(year, 10)
    first = datetime.combine(fall_back, time(0, 15), tzinfo=UTC)  # 01:15 BST
    second = datetime.combine(fall_back, time(1, 15), tzinfo=UTC)  # 01:15 GMT, an hour later
    ArticleFactory(published_at=first)
    ArticleFactory(published_at=second)
    day = f"{fall_back.day} Oct {year}"
    assert dict(BADGE.findall(editor_client.get(CHANGELIST).content.decode())) == {
        first.isoformat(): f"{day}, 01:15 BST",
        second.isoformat(): f"{day}, 01:15 GMT",
    }


def test_the_list_moves_a_story_from_scheduled_to_live_at_its_moment(signed_in, editor):
    article = ArticleFactory(title="Embargoed budget", published_at=datetime(2027, 3, 28, 8, 0, tzinfo=UTC))
    with freeze_time(datetime(2027, 3, 28, 7, 59, 59, tzinfo=UTC)) as frozen:
        client = signed_in(editor)
        assert "Embargoed budget" in client.get(CHANGELIST, {"state": "scheduled"}).content.decode()
        assert "Embargoed budget" not in client.get(CHANGELIST, {"state": "live"}).content.decode()
        frozen.move_to(article.published_at)
        assert "Embargoed budget" not in client.get(CHANGELIST, {"state": "scheduled"}).content.decode()
        live = client.get(CHANGELIST, {"state": "live"}).content.decode()
        assert "Embargoed budget" in live
        assert 'class="badge badge-live">Published<' in live


# --- Every public surface, on both sides of the moment, cached pages included ------------------------

# (when the pages are first cached, instants just before the moment, the moment) in UTC.
MOMENTS = {
    # 09:00 BST on 28 March; pages cached at 00:30 GMT, before the clocks go forward.
    "spring-forward": (
        datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
        [datetime(2027, 3, 28, 0, 59, 59, tzinfo=UTC), datetime(2027, 3, 28, 7, 59, 59, tzinfo=UTC)],
        datetime(2027, 3, 28, 8, 0, tzinfo=UTC),
    ),
    # 01:15 GMT on 31 October, the second 01:15 of that night; pages cached at 00:30 BST. At 01:50 BST
    # (00:50 UTC) the wall clock already reads later than 01:15, but the moment has not come.
    "fall-back": (
        datetime(2027, 10, 30, 23, 30, tzinfo=UTC),
        [datetime(2027, 10, 31, 0, 50, tzinfo=UTC), datetime(2027, 10, 31, 1, 14, 59, tzinfo=UTC)],
        datetime(2027, 10, 31, 1, 15, tzinfo=UTC),
    ),
}
SURFACES = {
    "home": lambda a: reverse("articles:home"),
    "section": lambda a: reverse("articles:section", kwargs={"section": "politics"}),
    "article": lambda a: a.get_absolute_url(),
    "related": lambda a: reverse(
        "articles:article", kwargs={"section": "politics", "slug": "harbour-dredging"}
    ),
    "outlet": lambda a: reverse("articles:source", kwargs={"slug": "harbour-gazette"}),
    "search": lambda a: reverse("articles:search") + "?q=embargoed",
    "feed": lambda a: reverse("articles:feed_rss"),
    "atom-feed": lambda a: reverse("articles:feed_atom"),
    "section-feed": lambda a: reverse("articles:section_feed_rss", kwargs={"section": "politics"}),
    "sitemap": lambda a: sitemaps.month_path(a.published_at),
    "news-sitemap": lambda a: reverse("articles:news_sitemap"),
}
NEVER_CACHED = {"search"}


@pytest.fixture
def long_page_cache(settings):
    """The real page cache, keeping pages for half a day: long enough that pages cached before a clock
    change would still be served after the moment, if the moment did not expire them."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 12 * 60 * 60


def newsroom(now, moment):
    """A live story and one scheduled for `moment`, in Politics, both citing the Harbour Gazette."""
    politics = CategoryFactory(slug="politics")
    outlet = SourceFactory(name="Harbour Gazette", slug="harbour-gazette")
    neighbour = ArticleFactory(
        title="Harbour dredging approved",
        slug="harbour-dredging",
        category=politics,
        published_at=now - timedelta(hours=1),
    )
    ArticleSourceFactory(article=neighbour, source=outlet)
    embargoed = ArticleFactory(
        title="Embargoed harbour budget",
        slug="embargoed-harbour-budget",
        category=politics,
        published_at=moment,
    )
    ArticleSourceFactory(article=embargoed, source=outlet)
    return embargoed


def visible(client, surface, article) -> bool:
    response = client.get(SURFACES[surface](article))
    if surface == "article":
        assert response.status_code in (200, 404)
        return response.status_code == 200
    assert response.status_code == 200, surface
    return article.slug in response.content.decode()


@pytest.mark.parametrize("case", MOMENTS)
def test_a_scheduled_story_appears_everywhere_at_its_moment_and_not_before(client, long_page_cache, case):
    cached_at, befores, moment = MOMENTS[case]
    with freeze_time(cached_at) as frozen:
        article = newsroom(cached_at, moment)
        for surface in SURFACES:
            assert not visible(client, surface, article), surface
        for before in befores:
            frozen.move_to(before)
            for surface in SURFACES:
                response = client.get(SURFACES[surface](article))
                if surface not in NEVER_CACHED and surface != "article":
                    # The page cached hours ago, across the clock change, is still served ...
                    assert response["X-Page-Cache"] == "hit", (surface, before)
                if surface == "article":
                    assert response.status_code == 404
                else:
                    assert response.status_code == 200
                    assert article.slug not in response.content.decode()
        frozen.move_to(moment)
        for surface in SURFACES:
            response = client.get(SURFACES[surface](article))
            assert response.status_code == 200, surface
            assert article.slug in response.content.decode(), surface
            if surface not in NEVER_CACHED:
                assert response["X-Page-Cache"] == "miss", surface  # ... and not a second longer
        assert "Embargoed harbour budget" in client.get(article.get_absolute_url()).content.decode()


def test_stories_scheduled_a_minute_apart_each_appear_at_their_own_moment(client, long_page_cache):
    first_at = datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    second_at = first_at + timedelta(seconds=90)
    with freeze_time(first_at - timedelta(hours=2)) as frozen:
        first = ArticleFactory(title="First embargo", published_at=first_at)
        second = ArticleFactory(title="Second embargo", published_at=second_at)
        home = reverse("articles:home")
        assert b"embargo" not in client.get(home).content
        frozen.move_to(first_at)
        page = client.get(home)
        assert first.slug.encode() in page.content and second.slug.encode() not in page.content
        frozen.move_to(second_at - timedelta(seconds=1))
        assert client.get(home)["X-Page-Cache"] == "hit"
        frozen.move_to(second_at)
        page = client.get(home)
        assert page["X-Page-Cache"] == "miss"
        assert first.slug.encode() in page.content and second.slug.encode() in page.content


def test_browsers_and_cdns_are_not_told_to_keep_a_page_past_the_moment(client, long_page_cache):
    """Our own copy expires at the moment; the Cache-Control sent downstream shrinks to match, so no
    browser or CDN obeying it keeps the old page past the moment either (stale-while-revalidate is
    cut to fit before the moment too: tests/proxy/test_headers.py)."""
    moment = datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    home = reverse("articles:home")
    with freeze_time(moment - timedelta(hours=1)) as frozen:
        ArticleFactory(title="Embargoed budget", published_at=moment)
        assert "max-age=30" in client.get(home)["Cache-Control"]  # far from the moment: the usual
        frozen.move_to(moment - timedelta(seconds=10))
        response = client.get(home)
        assert response["X-Page-Cache"] == "hit"
        control = response["Cache-Control"]
        assert "max-age=10" in control and "s-maxage=10" in control, control
        frozen.move_to(moment)
        response = client.get(home)
        assert b"Embargoed budget" in response.content
        assert "s-maxage=60" in response["Cache-Control"]  # nothing else scheduled now


def test_without_a_scheduled_story_pages_keep_their_usual_cache_lifetime(client, long_page_cache):
    ArticleFactory()
    control = client.get(reverse("articles:home"))["Cache-Control"]
    assert "max-age=30" in control and "s-maxage=60" in control


def test_a_scheduled_story_moved_earlier_appears_at_its_new_time(signed_in, editor, client, long_page_cache):
    """An editor brings an embargo forward: the save replaces cached pages, the new moment rules."""
    with freeze_time(datetime(2027, 3, 28, 6, 0, tzinfo=UTC)) as frozen:
        article = ArticleFactory(
            title="Embargoed budget", published_at=datetime(2027, 3, 28, 12, 0, tzinfo=UTC)
        )
        home = reverse("articles:home")
        assert b"Embargoed budget" not in client.get(home).content
        assert client.get(home)["X-Page-Cache"] == "hit"
        response = browser_post(
            signed_in(editor), change_url(article), published_at_0="28/03/2027", published_at_1="08:00"
        )
        assert response.status_code == 302
        assert b"Embargoed budget" not in client.get(home).content
        frozen.move_to(datetime(2027, 3, 28, 7, 0, tzinfo=UTC))  # 08:00 BST
        assert b"Embargoed budget" in client.get(home).content
    assert timezone.localtime(Article.objects.get().published_at).hour == 8
