"""The API's endpoints: what each answers, that nothing but published stories ever shows, the filters
and their errors, cursor paging, and JSON for every error."""

from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import BiasRating
from tests.factories import (
    ArticleFactory,
    ArticleSourceFactory,
    BiasRatingFactory,
    CategoryFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


def get(client, url, status=200, **params):
    response = client.get(url, params)
    assert response.status_code == status, (url, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def ids(client, url="/api/v1/stories/", **params):
    return [story["id"] for story in get(client, url, **params)["results"]]


def test_stories_list_and_detail(client, newsroom):
    live, plain = newsroom["live"], newsroom["plain"]
    page = get(client, "/api/v1/stories/")
    assert [story["id"] for story in page["results"]] == [live.pk, plain.pk]  # newest first
    assert page["next"] is None and page["previous"] is None
    story = get(client, f"/api/v1/stories/{live.pk}/")
    assert story == page["results"][0]
    assert story["url"] == "http://testserver" + live.get_absolute_url()
    assert story["section"] == {"slug": "world", "name": "World"}
    assert story["summary"] == "First paragraph of the story.\n\nSecond paragraph, with emphasis."
    assert story["updated"] is None and story["ai_summary"] is False
    assert story["balance"] == {
        "left": 50, "center": 0, "right": 50, "method": "sources", "as_of": None,
        "outlets_left": 0, "outlets_center": 0, "outlets_right": 0, "unrated": 0,
    }  # fmt: skip
    assert story["sources"] == [
        {"outlet": {"slug": "left-times", "name": "Left Times", "domain": "left.example"},
         "url": "https://left.example/strike", "title": "Strike over", "wire_copy": False},
        {"outlet": {"slug": "right-post", "name": "Right Post", "domain": "right.example"},
         "url": "https://right.example/strike", "title": story["sources"][1]["title"], "wire_copy": True},
    ]  # fmt: skip
    assert get(client, f"/api/v1/stories/{plain.pk}/")["balance"] is None


def test_sections(client, newsroom):
    sections = get(client, "/api/v1/sections/")
    assert [s["slug"] for s in sections][:5] == ["world", "politics", "crypto", "business", "sports"]
    assert sections[0] == {
        "slug": "world", "name": "World", "description": sections[0]["description"],
        "url": "http://testserver/world/",
    }  # fmt: skip


def test_outlets_with_their_rating_history(client, newsroom):
    outlets = get(client, "/api/v1/outlets/")["results"]
    assert [o["slug"] for o in outlets] == ["hidden-outlet", "left-times", "right-post"]
    left = get(client, "/api/v1/outlets/left-times/")
    assert left == outlets[1]
    assert left["country"] == "GB" and left["country_name"] == "United Kingdom"
    assert left["lean"] == "left" and left["url"] == "http://testserver/sources/left-times/"
    assert [
        (r["lean"], r["effective_from"], r["rater"], r["rater_kind"], r["confidence"])
        for r in left["ratings"]
    ] == [
        ("center", "2010-01-01", "Media Rater", "external", "low"),
        ("left", "2000-01-01", "newsapp newsroom", "newsroom", "medium"),
    ]
    assert outlets[2]["country"] is None and outlets[2]["country_name"] is None
    assert [o["slug"] for o in get(client, "/api/v1/outlets/", lean="right")["results"]] == ["right-post"]
    assert get(client, "/api/v1/outlets/", 400, lean="far_left") == {
        "lean": ["Select a valid choice. far_left is not one of the available choices."]
    }


@pytest.fixture
def blindspot_newsroom(newsroom):
    """A week of balanced coverage in World, then a story the left does not cover (0 of 10 outlets), and
    the same kind of story as a draft and scheduled."""
    world = CategoryFactory(slug="world")
    for days in range(2, 6):
        old = ArticleFactory(category=world, published_at=timezone.now() - timedelta(days=days))
        BiasRatingFactory(article=old, outlets_left=5, outlets_center=5, outlets_right=5)
    spots = {
        "live": ArticleFactory(category=world, title="Left blindspot"),
        "draft": ArticleFactory(category=world, draft=True),
        "scheduled": ArticleFactory(category=world, scheduled=True),
    }
    for story in spots.values():
        BiasRatingFactory(article=story, left=0, center=50, right=50, outlets_center=5, outlets_right=5)
    return spots


def test_blindspots(client, blindspot_newsroom, settings):
    found = get(client, "/api/v1/blindspots/")
    assert found["rule"] == {
        "min_outlets": settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS,
        "window_days": settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS,
        "confidence": 0.95,
    }
    assert found["right"] == []
    [spot] = found["left"]
    assert spot["story"]["id"] == blindspot_newsroom["live"].pk
    assert (spot["side"], spot["n"], spot["x"], spot["share"], spot["low"]) == ("left", 10, 0, 0.0, 0.0)
    assert spot["high"] == pytest.approx(0.2775, abs=1e-4)
    assert spot["baseline"] == pytest.approx(1 / 3)


HIDDEN = ["draft", "scheduled", "unpublished"]


@pytest.mark.parametrize("kind", HIDDEN)
def test_hidden_stories_are_nowhere(client, newsroom, kind):
    story = newsroom["hidden"][kind]
    assert get(client, f"/api/v1/stories/{story.pk}/", 404) == {
        "detail": "No Article matches the given query."
    }
    everything = [
        "/api/v1/stories/", "/api/v1/stories/?outlet=hidden-outlet", "/api/v1/stories/?lean=center",
        f"/api/v1/stories/?section={story.category.slug}", "/api/v1/blindspots/",
        "/api/v1/outlets/hidden-outlet/",
        "/api/v1/downloads/stories.csv", "/api/v1/downloads/stories.json",
    ]  # fmt: skip
    for url in everything:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, url
        assert story.title.encode() not in body and f"hidden.example/{story.pk}".encode() not in body, url
        assert f'"id": {story.pk},'.encode() not in body and f'"id":{story.pk},'.encode() not in body, url
    assert ids(client, outlet="hidden-outlet") == []


@pytest.mark.parametrize("kind", ["draft", "scheduled"])
def test_hidden_blindspots_are_left_out(client, blindspot_newsroom, kind):
    found = get(client, "/api/v1/blindspots/")
    assert blindspot_newsroom[kind].pk not in [spot["story"]["id"] for spot in found["left"]]


def test_story_filters(client, newsroom):
    live, plain = newsroom["live"].pk, newsroom["plain"].pk
    assert ids(client, section="world") == [live]
    assert ids(client, section="politics") == [plain]
    assert ids(client, outlet="left-times") == [live]
    assert ids(client, outlet="right-post") == [live, plain]
    assert ids(client, lean="left") == [live]
    assert ids(client, lean="right") == [live, plain]
    assert ids(client, lean="center") == []
    today = timezone.localdate()
    assert ids(client, since=today.isoformat(), until=today.isoformat()) == [live, plain]
    assert ids(client, until=(today - timedelta(days=1)).isoformat()) == []
    assert ids(client, since=(today + timedelta(days=1)).isoformat()) == []
    assert ids(client, since="0001-01-01", until="9999-12-31") == [live, plain]


NOT_A_SLUG = "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens."
NOT_A_LEAN = "Select a valid choice. unrated is not one of the available choices."
BAD_CURSOR = "This cursor is not one the API gave: start from the first page."


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"section": "nowhere"}, {"section": ["There is no section with that slug."]}),
        ({"section": "a\x00b"}, {"section": [NOT_A_SLUG]}),
        ({"outlet": "nobody"}, {"outlet": ["There is no outlet with that slug."]}),
        ({"lean": "unrated"}, {"lean": [NOT_A_LEAN]}),
        ({"since": "yesterday"}, {"since": ["Give a date as YYYY-MM-DD, such as 2026-03-01."]}),
        ({"until": "2026-02-30"}, {"until": ["Give a date as YYYY-MM-DD, such as 2026-03-01."]}),
        ({"since": "2026-03-02", "until": "2026-03-01"},
         {"until": ["The date range ends before it starts: until is before since."]}),
        ({"page_size": "0"}, {"page_size": ["Give a whole number from 1 to 200."]}),
        ({"page_size": "201"}, {"page_size": ["Give a whole number from 1 to 200."]}),
        ({"page_size": "ten"}, {"page_size": ["Give a whole number from 1 to 200."]}),
        ({"cursor": "not-a-cursor"}, {"cursor": [BAD_CURSOR]}),
    ],
)  # fmt: skip
def test_bad_filters_are_400_saying_what_is_wrong(client, newsroom, params, errors):
    assert get(client, "/api/v1/stories/", 400, **params) == errors


def cursor(position: str) -> str:
    import base64
    from urllib.parse import urlencode

    return base64.b64encode(urlencode({"p": position}).encode()).decode()


@pytest.mark.parametrize(
    "position", ["not a date", "2026-01-01 10:00:00", "9999-12-31 23:59:59-23:59", "a\x00", "99999-01-01"]
)
def test_tampered_cursor_positions_are_400(client, newsroom, position):
    assert "cursor" in get(client, "/api/v1/stories/", 400, cursor=cursor(position))
    assert "cursor" in get(client, "/api/v1/outlets/", 400, cursor=cursor("a\x00b"))


def test_cursor_paging_walks_every_story_once_while_stories_are_added(client, db):
    now = timezone.now()
    same_time = now - timedelta(hours=5)
    stories = [ArticleFactory(published_at=now - timedelta(hours=1, minutes=i)) for i in range(7)]
    stories += [ArticleFactory(published_at=same_time) for _ in range(4)]  # ties broken by id
    seen, url, added = [], "/api/v1/stories/?page_size=3", False
    while url:
        page = client.get(url).json()
        seen += [story["id"] for story in page["results"]]
        if not added:
            # A newer story goes live mid-walk: the pages still to come do not shift.
            ArticleFactory(published_at=timezone.now() - timedelta(seconds=1))
            added = True
        url = page["next"]
    expected = [s.pk for s in sorted(stories, key=lambda s: (s.published_at, s.pk), reverse=True)]
    assert seen == expected
    first = client.get("/api/v1/stories/?page_size=3").json()
    second = client.get(first["next"]).json()
    assert client.get(second["previous"]).json()["results"] == first["results"]


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/api/v1/nothing-here/", 404),
        ("post", "/api/v1/nothing-here/", 404),
        ("get", "/api/v1/stories/abc/", 404),
        ("get", "/api/v1/stories/99999999999999999999999/", 404),
        ("get", "/api/v1/stories/123456789012345678/", 404),
        ("get", "/api/v1/outlets/no-such-outlet/", 404),
        ("post", "/api/v1/stories/", 405),
        ("delete", "/api/v1/outlets/left-times/", 405),
        ("put", "/api/v1/sections/", 405),
        ("post", "/api/v1/downloads/stories.csv", 405),
    ],
)
def test_errors_are_json(client, newsroom, method, url, status):
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_an_unrated_story_balance_and_a_computed_one(client, newsroom):
    story = ArticleFactory()
    BiasRating.objects.create(article=story, left=100, center=0, right=0, method="sources", outlets_left=1)
    ArticleSourceFactory(article=story, source=SourceFactory(bias="unrated"))
    assert get(client, f"/api/v1/stories/{story.pk}/")["balance"]["outlets_left"] == 1
