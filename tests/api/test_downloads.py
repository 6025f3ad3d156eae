"""Bulk downloads: what each file holds, its licence, only published stories, and 304 for a client
holding the current file."""

import csv
import io
import json

import pytest

from articles.site.cache.content_version import bump_content_version

pytestmark = pytest.mark.django_db

LICENCE = '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'


def download(client, name, **headers):
    response = client.get(f"/api/v1/downloads/{name}", headers=headers)
    assert response.status_code == 200
    assert response.streaming
    assert response["Link"] == LICENCE
    assert response["Content-Disposition"] == f'attachment; filename="newsapp-{name}"'
    return b"".join(response.streaming_content).decode()


def test_outlets_csv_one_row_per_rating(client, newsroom):
    rows = list(csv.DictReader(io.StringIO(download(client, "outlets.csv"))))
    left = [row for row in rows if row["outlet_slug"] == "left-times"]
    assert [
        (r["rating_lean"], r["effective_from"], r["rater"], r["rater_kind"], r["confidence"]) for r in left
    ] == [
        ("center", "2010-01-01", "Media Rater", "external", "low"),
        ("left", "2000-01-01", "newsapp newsroom", "newsroom", "medium"),
    ]
    assert left[0]["country"] == "GB" and left[0]["current_lean"] == "left" and left[0]["method"] == "Survey"
    assert {row["outlet_slug"] for row in rows} == {"left-times", "right-post", "hidden-outlet"}


def test_outlets_json_with_the_licence(client, newsroom):
    data = json.loads(download(client, "outlets.json"))
    assert data["licence"] == {"name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"}
    left = next(o for o in data["outlets"] if o["slug"] == "left-times")
    assert left["lean"] == "left" and left["country"] == "GB"
    assert [r["effective_from"] for r in left["ratings"]] == ["2010-01-01", "2000-01-01"]
    assert client.get("/api/v1/outlets/left-times/").json()["ratings"] == left["ratings"]


def test_stories_csv_one_row_per_source(client, newsroom):
    rows = list(csv.DictReader(io.StringIO(download(client, "stories.csv"))))
    live, plain = newsroom["live"], newsroom["plain"]
    assert [(int(r["story_id"]), r["outlet_slug"], r["wire_copy"]) for r in rows] == [
        (live.pk, "left-times", "False"),
        (live.pk, "right-post", "True"),
        (plain.pk, "right-post", "False"),
    ]
    first = rows[0]
    assert (first["balance_left"], first["balance_center"], first["balance_right"]) == ("50", "0", "50")
    assert first["balance_method"] == "sources" and first["section"] == "world"
    assert first["url"] == "http://testserver" + live.get_absolute_url()
    assert rows[2]["balance_left"] == "" and rows[2]["balance_method"] == ""


def test_stories_json_matches_the_api(client, newsroom):
    data = json.loads(download(client, "stories.json"))
    assert data["licence"]["name"] == "CC BY 4.0"
    assert [s["id"] for s in data["stories"]] == [newsroom["live"].pk, newsroom["plain"].pk]
    api = client.get(f"/api/v1/stories/{newsroom['live'].pk}/").json()
    story = data["stories"][0]
    assert story["sources"] == api["sources"] and story["balance"] == api["balance"]
    assert story["section"] == "world" and story["title"] == api["title"] and story["url"] == api["url"]


def test_an_empty_newsroom_still_gives_valid_files(client, db):
    assert json.loads(download(client, "stories.json"))["stories"] == []
    assert download(client, "stories.csv").startswith("story_id,url,title,")


def test_licence_without_a_link(client, newsroom, settings):
    settings.NEWSAPP_DATA_LICENCE_URL = ""
    response = client.get("/api/v1/downloads/outlets.json")
    assert "Link" not in response
    assert json.loads(b"".join(response.streaming_content))["licence"] == {"name": "CC BY 4.0", "url": None}


@pytest.mark.parametrize("name", ["outlets.csv", "outlets.json", "stories.csv", "stories.json"])
def test_304_until_the_content_changes(client, newsroom, name, django_assert_max_num_queries):
    first = client.get(f"/api/v1/downloads/{name}")
    etag = first["ETag"]
    with django_assert_max_num_queries(1):  # at most the newest live story's time: no row is read
        again = client.get(f"/api/v1/downloads/{name}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    bump_content_version()
    assert client.get(f"/api/v1/downloads/{name}", headers={"If-None-Match": etag}).status_code == 200


def test_a_csv_download_is_given_whatever_the_client_accepts(client, newsroom):
    response = client.get("/api/v1/downloads/stories.csv", headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
