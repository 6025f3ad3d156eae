"""Ratings in and out (manage.py ratings, articles.transfer.ratings), and outlets' ratings in the
story import format (articles.transfer.outlet_ratings, the importer's "bias")."""

import json
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from articles.models import BiasRating, Source, SourceRating
from articles.newsroom.stories import bias_rating_refresh
from articles.transfer import ratings as transfer
from articles.transfer.importing import ImportFailed, import_file
from tests.factories import ArticleFactory, ArticleSourceFactory, SourceFactory

pytestmark = pytest.mark.django_db

HEADER = "domain,lean,effective_from,rater_kind,rater_name,method,confidence,note,link\n"


@pytest.fixture
def rated():
    one = SourceFactory(domain="one.example", bias="center", rating=False)
    two = SourceFactory(domain="two.example", bias="unrated", rating=False)
    SourceRating.objects.create(
        source=one, lean="center", effective_from=date(2018, 1, 1), rater_kind="external",
        rater_name="Civic Lens, Audit", method='Reading of 60 stories, "blind"', confidence="high",
        note="Line one\nline two", link="https://civiclens.example/one",
    )  # fmt: skip
    SourceRating.objects.create(
        source=one, lean="lean_left", effective_from=date(2023, 5, 2), method="Review"
    )
    SourceRating.objects.create(source=two, lean="right", effective_from=date(2020, 2, 2), method="Review")
    return one, two


def rows():
    return sorted(
        SourceRating.objects.values_list(
            "source__domain", "lean", "effective_from", "rater_kind", "rater_name", "method", "confidence",
            "note", "link",
        )
    )  # fmt: skip


def run(*args):
    call_command("ratings", *args)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_into_an_empty_history_gives_the_same_ratings(rated, tmp_path, fmt):
    path = tmp_path / f"ratings.{fmt}"
    run("export", "--format", fmt, "-o", str(path))
    before = rows()
    SourceRating.objects.all().delete()
    run("import", str(path))
    assert rows() == before
    assert Source.objects.get(domain="one.example").bias == "lean_left"
    assert Source.objects.get(domain="two.example").bias == "right"  # kept by the import
    result = transfer.import_ratings(path.read_bytes(), name=path.name)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)  # again: nothing changes


def test_the_json_export_reads_as_documented(rated, capsys):
    run("export", "--format", "json")
    document = json.loads(capsys.readouterr().out)
    assert document["ratings"][0] == {
        "domain": "one.example", "lean": "center", "effective_from": "2018-01-01", "rater_kind": "external",
        "rater_name": "Civic Lens, Audit", "method": 'Reading of 60 stories, "blind"', "confidence": "high",
        "note": "Line one\nline two", "link": "https://civiclens.example/one",
    }  # fmt: skip


def test_a_dry_run_saves_nothing(rated, tmp_path, capsys):
    path = tmp_path / "new.csv"
    path.write_text(HEADER + "two.example,left,2024-01-01,,,Review,,,\n")
    run("import", str(path), "--dry-run")
    assert "Dry run, nothing saved: would have ratings: 1 created" in capsys.readouterr().out
    assert SourceRating.objects.count() == 3


def test_a_new_rating_recomputes_drafts_only(rated, tmp_path):
    one, _ = rated
    live, draft = ArticleFactory(), ArticleFactory(draft=True)
    for story in (live, draft):
        ArticleSourceFactory(article=story, source=one)
        bias_rating_refresh(article=story)
    path = tmp_path / "new.csv"
    path.write_text(HEADER + f"one.example,right,{timezone.localdate() - timedelta(days=3)},,,Review,,,\n")
    result = transfer.import_ratings_file(path)
    assert (result.created, result.stories_recomputed, result.published_kept) == (1, 1, 1)
    assert BiasRating.objects.get(article=live).left == 100
    assert BiasRating.objects.get(article=draft).right == 100


BAD_FILES = [
    ("missing.csv", "domain,lean,method\none.example,left,Review\n", ["missing columns: effective_from"]),
    (
        "rows.csv",
        HEADER
        + "nowhere.example,left,2020-01-01,,,Review,,,\n"
        + "one.example,left,2020-13-01,,,Review,,,\n"
        + f"one.example,left,{timezone.localdate() + timedelta(days=2)},,,Review,,,\n"
        + "one.example,left,2021-01-01,,,Review,,,\n"
        + "one.example,right,2021-01-01,,,Review,,,\n"
        + "one.example,left,2021-02-01,external,,Review,,,\n"
        + "one.example,leftish,2021-03-01,robot,,Review,sure,,ftp://x.example/\n"
        + "one.example,left,2021-04-01,,,,,,\n",
        [
            "row 2: 'domain': no outlet with domain 'nowhere.example'",
            "row 3: 'effective_from': '2020-13-01' is not a date such as 2024-03-01",
            "row 4: 'effective_from':",  # in the future
            "row 6: a second rating of one.example on 2021-01-01 (also in row 5)",
            "row 7: 'rater_name' is required for an external rater",
            "row 8: 'lean': 'leftish' is not one of left, lean_left, center, lean_right, right",
            "row 8: 'rater_kind': 'robot' is not one of newsroom, external",
            "row 8: 'confidence': 'sure' is not one of low, medium, high",
            "row 8: 'link' must be an http:// or https:// address",
            "row 9: 'method' is required",
        ],
    ),
    (
        "extra.json",
        '{"ratings": [{"domain": "one.example", "colour": "red"}], "x": 1}',
        ["unknown field 'x'"],
    ),
    ("shape.json", '{"ratings": {}}', ['must be a JSON object {"ratings": [...]}']),
    ("broken.json", '{"ratings": [', ["not valid JSON at line 1"]),
    ("empty.csv", HEADER, ["no ratings in the file"]),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_lists_every_problem_and_saves_nothing(rated, tmp_path, capsys, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    before = rows()
    with pytest.raises(CommandError, match="Nothing was imported") as caught:
        run("import", str(path))
    assert caught.value.returncode == 1
    errors = capsys.readouterr().err
    for problem in expected:
        assert problem in errors, errors
    assert rows() == before


def test_one_bad_row_keeps_the_good_ones_out_too(rated, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(HEADER + "two.example,left,2024-01-01,,,Review,,,\none.example,left,2024-01-01,,,,,,\n")
    with pytest.raises(ImportFailed):
        transfer.import_ratings_file(path)
    assert SourceRating.objects.count() == 3


def test_a_huge_file_is_refused_before_it_is_read_whole(rated, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "huge.csv"
    path.write_text(HEADER + "one.example,left,2024-01-01,,,Review,,,\n" * 100)
    with pytest.raises(ImportFailed, match="over the limit of"):
        transfer.import_ratings_file(path)
    monkeypatch.setattr(transfer, "MAX_FILE_BYTES", 10_000_000)
    monkeypatch.setattr(transfer, "MAX_ROWS", 10)
    with pytest.raises(ImportFailed, match="the limit is 10 a file"):
        transfer.import_ratings_file(path)
    assert SourceRating.objects.count() == 3


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError):
        run("import", str(tmp_path / "nothing.csv"))


# --- The story import format ------------------------------------------------------------------


def story_document(tmp_path, source: dict, *, published_at="2025-03-03T10:00:00Z"):
    document = {
        "sources": [{"name": "Port", "domain": "port.example", "homepage": "https://port.example/"} | source],
        "articles": [
            {"title": "Quay", "slug": "quay", "section": "world", "status": "published",
             "published_at": published_at, "summary": "Text.",
             "sources": [{"domain": "port.example", "url": "https://port.example/a"}]},
        ],
    }  # fmt: skip
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    return path


def test_an_outlets_ratings_travel_in_the_story_import_format(tmp_path):
    history = [
        {"lean": "center", "effective_from": "2020-01-01", "rater_kind": "external", "rater_name": "Lens",
         "method": "Audit", "confidence": "high", "note": "", "link": ""},
        {"lean": "left", "effective_from": "2025-06-01", "method": "Review"},
    ]  # fmt: skip
    import_file(story_document(tmp_path, {"bias": "left", "ratings": history, "country": "ie"}))
    outlet = Source.objects.get(domain="port.example")
    assert (outlet.bias, outlet.country.code) == ("left", "IE")
    assert [r.lean for r in outlet.ratings.order_by("effective_from")] == ["center", "left"]
    rating = BiasRating.objects.get(article__slug="quay")
    assert (rating.center, rating.as_of) == (100, date(2025, 3, 3))  # the story predates the change
    assert outlet.ratings.count() == 2  # "bias" matches today's lean: no rating added


def test_an_imported_lean_for_an_unrated_outlet_is_dated_from_its_first_story(tmp_path):
    import_file(story_document(tmp_path, {"bias": "right"}))
    outlet = Source.objects.get(domain="port.example")
    rating = outlet.ratings.get()
    assert (rating.lean, rating.effective_from, rating.rater_kind) == ("right", date(2025, 3, 3), "newsroom")
    assert BiasRating.objects.get(article__slug="quay").right == 100


def test_an_imported_lean_that_differs_from_todays_becomes_a_rating_dated_today(tmp_path):
    outlet = SourceFactory(domain="port.example", bias="center")
    import_file(story_document(tmp_path, {"bias": "lean_right"}))
    outlet.refresh_from_db()
    assert outlet.bias == "lean_right"
    latest = outlet.ratings.order_by("-effective_from").first()
    assert (latest.lean, latest.effective_from) == ("lean_right", timezone.localdate())
    assert BiasRating.objects.get(article__slug="quay").center == 100  # published before today


def test_bad_ratings_in_the_story_format_are_listed(tmp_path):
    bad = [{"lean": "left", "effective_from": "2020-01-01", "method": "A"},
           {"lean": "left", "effective_from": "2020-01-01", "method": "B", "colour": "red"}]  # fmt: skip
    with pytest.raises(ImportFailed) as caught:
        import_file(story_document(tmp_path, {"ratings": bad, "country": "XX"}))
    text = "\n".join(caught.value.errors)
    assert "field 'ratings'[1]: a second rating on 2020-01-01" in text
    assert "field 'ratings'[1]: unknown field 'colour'" in text
    assert "field 'country': 'XX' is not a two-letter country code" in text
    assert not Source.objects.filter(domain="port.example").exists()
