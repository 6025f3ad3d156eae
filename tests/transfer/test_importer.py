"""`manage.py import_articles FILE`: validated whole, applied in one transaction, idempotent."""

import copy
import json

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from articles.models import Article, BiasRating, Source
from tests.factories import ArticleFactory, BiasRatingFactory, SourceFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "sources": [
        {
            "name": "BBC",
            "domain": "BBC.co.uk",
            "homepage": "https://www.bbc.co.uk/news",
            "bias": "center",
            "logo": "logos/bbc.png",
        },
        {
            "name": "Left Times",
            "domain": "left.example",
            "homepage": "https://left.example/",
            "bias": "lean_left",
        },
    ],
    "articles": [
        {
            "title": "Talks progress",
            "slug": "talks-progress",
            "section": "world",
            "status": "published",
            "published_at": "2026-01-01T09:00:00Z",
            "summary": "First paragraph.\n\nSecond paragraph.",
            "ai_summary": True,
            "featured": False,
            "image": "images/lead.jpg",
            "image_alt": "Delegates at a table",
            "image_credit": "bbc.co.uk",
            "bias": {"left": 15, "center": 80, "right": 5},
            "sources": [{"domain": "bbc.co.uk", "url": "https://bbc.co.uk/news/1", "title": "The original"}],
        },
        {
            "title": "Markets calm",
            "section": "business",
            "status": "published",
            "published_at": "2026-01-02T10:00:00+01:00",
            "summary": "Prices held.",
            "sources": [
                {"domain": "bbc.co.uk", "url": "https://bbc.co.uk/news/2"},
                {"domain": "left.example", "url": "https://left.example/markets"},
            ],
        },
        {"title": "A draft", "slug": "a-draft", "section": "politics", "summary": "Not yet."},
    ],
}


@pytest.fixture
def folder(tmp_path, make_image):
    """An import folder with a lead image, a logo and a file that only pretends to be a picture."""
    base = tmp_path / "import"
    (base / "images").mkdir(parents=True)
    (base / "logos").mkdir()
    (base / "images" / "lead.jpg").write_bytes(make_image("JPEG", (600, 300), gps=True))
    (base / "images" / "broken.jpg").write_bytes(b"GIF89a but not really")
    (base / "logos" / "bbc.png").write_bytes(make_image("PNG", (400, 200)))
    (tmp_path / "outside.jpg").write_bytes(make_image("JPEG"))
    return base


def write(folder, document, name="import.json"):
    path = folder / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return str(path)


def run(path, *args):
    from io import StringIO

    out = StringIO()
    call_command("import_articles", path, *args, stdout=out)
    return out.getvalue()


def snapshot():
    """Every row of every table, so "nothing changed" means exactly that."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.managed
    }


@pytest.fixture
def existing():
    """Some newsroom content that a failed import must leave exactly as it is."""
    article = ArticleFactory(title="Already here")
    BiasRatingFactory(article=article)
    return SourceFactory(domain="existing.example")


# --- A good file -----------------------------------------------------------------------------------


def test_good_file_imports_outlets_stories_and_ratings(folder, media_files, client):
    out = run(write(folder, GOOD))
    assert "sources: 2 created, 0 updated, 0 unchanged, articles: 3 created, 0 updated, 0 unchanged" in out
    bbc = Source.objects.get(domain="bbc.co.uk")
    assert (bbc.name, bbc.bias, bbc.slug) == ("BBC", "center", "bbc")
    assert max(bbc.logo_width, bbc.logo_height) == 256  # logos are shrunk
    talks = Article.objects.get(slug="talks-progress")
    assert talks.is_published()
    assert talks.ai_summary
    assert set(talks.renditions) == {"thumb", "480", "600"}
    rating = talks.bias_rating
    assert (rating.left, rating.center, rating.right, rating.method) == (15, 80, 5, "editorial")
    markets = Article.objects.get(title="Markets calm")
    assert markets.slug == "markets-calm"
    assert markets.published_at.isoformat() == "2026-01-02T09:00:00+00:00"
    rating = markets.bias_rating
    assert (rating.left, rating.center, rating.right, rating.method) == (50, 50, 0, "sources")
    assert [c.source for c in markets.article_sources.all()] == [
        bbc,
        Source.objects.get(domain="left.example"),
    ]
    assert Article.objects.get(slug="a-draft").status == "draft"
    html = client.get(talks.get_absolute_url()).content.decode()
    assert "L 15%" in html
    assert 'alt="BBC logo"' in html
    assert len(media_files()) == 1 + 2 + 1 + 3 * 2  # logo and its small PNG/WebP, lead image, renditions
    for stored in media_files():
        assert b"Exif" not in stored.read_bytes()


def test_reimporting_the_same_file_changes_nothing(folder, media_files):
    path = write(folder, GOOD)
    run(path)
    before, files = snapshot(), media_files()
    out = run(path)
    assert "sources: 0 created, 0 updated, 2 unchanged, articles: 0 created, 0 updated, 3 unchanged" in out
    assert snapshot() == before  # updated_at included
    assert media_files() == files


def test_outlets_match_by_domain_and_stories_by_slug(folder):
    SourceFactory(domain="bbc.co.uk", name="Old name", bias="left")
    article = ArticleFactory(slug="talks-progress", title="Old title")
    BiasRatingFactory(article=article)
    out = run(write(folder, GOOD))
    assert "sources: 1 created, 1 updated" in out
    assert "articles: 2 created, 1 updated" in out
    assert Source.objects.get(domain="bbc.co.uk").name == "BBC"
    article.refresh_from_db()
    assert article.title == "Talks progress"
    assert Source.objects.count() == 2
    assert Article.objects.count() == 3


def test_a_rating_left_out_of_the_file_is_computed_again(folder):
    path = write(folder, GOOD)
    run(path)
    document = copy.deepcopy(GOOD)
    del document["articles"][0]["bias"]
    run(write(folder, document, "second.json"))
    rating = BiasRating.objects.get(article__slug="talks-progress")
    assert (rating.left, rating.center, rating.right, rating.method) == (0, 100, 0, "sources")


def test_wire_copies_are_imported_and_a_changed_flag_updates_the_story(folder):
    def markets(document):
        return next(a for a in document["articles"] if a["title"] == "Markets calm")

    def stored():
        article = Article.objects.get(title="Markets calm")
        rating = BiasRating.objects.get(article=article)
        rows = list(article.article_sources.order_by("position").values_list("url", "wire_copy"))
        return rows, (rating.left, rating.center, rating.right, rating.method)

    document = copy.deepcopy(GOOD)
    markets(document)["sources"] += [
        {"domain": "left.example", "url": "https://left.example/markets-2", "wire_copy": False},
        {"domain": "bbc.co.uk", "url": "https://bbc.co.uk/copy", "wire_copy": True},
    ]
    run(write(folder, document))
    assert stored() == (
        [
            ("https://bbc.co.uk/news/2", False),  # left out: false
            ("https://left.example/markets", False),
            ("https://left.example/markets-2", False),
            ("https://bbc.co.uk/copy", True),
        ],
        (50, 50, 0, "sources"),  # left.example's two pieces are one voice; the copy none
    )
    out = run(write(folder, document))
    assert "articles: 0 created, 0 updated, 3 unchanged" in out
    # Only a flag changes: the story is rewritten, and its computed bar follows.
    for cite in markets(document)["sources"][1:3]:
        cite["wire_copy"] = True
    out = run(write(folder, document, "second.json"))
    assert "articles: 0 created, 1 updated, 2 unchanged" in out
    assert [copy for _, copy in stored()[0]] == [False, True, True, True]
    assert stored()[1] == (0, 100, 0, "sources")


def test_dry_run_writes_nothing(folder, media_files, existing):
    before = snapshot()
    out = run(write(folder, GOOD), "--dry-run")
    assert "Dry run (nothing written)" in out
    assert "articles: 3 created" in out
    assert snapshot() == before
    assert media_files() == []


# --- Bad files: every problem named, nothing changed -----------------------------------------------


def change(path, value):
    """A copy of GOOD with the item at `path` (a tuple of keys) set to `value` (or removed: ...)."""

    def apply(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        if value is ...:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return document

    return apply


TALKS = 'articles[0] "Talks progress"'
BAD = {
    "unknown-section": (
        change(("articles", 0, "section"), "opinion"),
        [TALKS, "field 'section'", "'opinion'"],
    ),
    "bias-not-100": (
        change(("articles", 0, "bias"), {"left": 10, "center": 10, "right": 10}),
        [TALKS, "field 'bias'", "add up to 100, not 30"],
    ),
    "bias-keys": (change(("articles", 0, "bias"), {"left": 100}), [TALKS, "field 'bias'"]),
    "javascript-url": (
        change(("articles", 0, "sources", 0, "url"), "javascript:alert(1)"),
        [TALKS, "sources[0]", "field 'url'", "http:// or https://"],
    ),
    "ftp-homepage": (
        change(("sources", 1, "homepage"), "ftp://left.example/"),
        ['sources[1] "left.example"', "field 'homepage'"],
    ),
    "missing-image": (
        change(("articles", 0, "image"), "images/missing.jpg"),
        [TALKS, "field 'image'", "not found"],
    ),
    "undecodable-image": (
        change(("articles", 0, "image"), "images/broken.jpg"),
        [TALKS, "field 'image'", "not a picture we can read"],
    ),
    "image-escapes-folder": (
        change(("articles", 0, "image"), "../outside.jpg"),
        [TALKS, "field 'image'", "inside the import file's folder"],
    ),
    "absolute-image": (
        change(("sources", 0, "logo"), "/etc/hostname"),
        ['sources[0] "BBC.co.uk"', "field 'logo'"],
    ),
    "unknown-domain": (
        change(("articles", 0, "sources", 0, "domain"), "nobody.example"),
        [TALKS, "sources[0]", "field 'domain'", "'nobody.example'"],
    ),
    "naive-datetime": (
        change(("articles", 0, "published_at"), "2026-01-01T09:00:00"),
        [TALKS, "field 'published_at'", "no time zone"],
    ),
    "not-a-datetime": (change(("articles", 0, "published_at"), "yesterday"), [TALKS, "field 'published_at'"]),
    "unknown-field": (change(("articles", 0, "colour"), "red"), [TALKS, "unknown field 'colour'"]),
    "ai-summary-not-bool": (change(("articles", 0, "ai_summary"), "yes"), [TALKS, "field 'ai_summary'"]),
    "wire-copy-not-bool": (
        change(("articles", 0, "sources", 0, "wire_copy"), "yes"),
        [TALKS, "sources[0]", "field 'wire_copy' must be true or false"],
    ),
    "wire-copy-null": (
        change(("articles", 0, "sources", 0, "wire_copy"), None),
        [TALKS, "sources[0]", "field 'wire_copy' must be true or false"],
    ),
    "missing-title": (change(("articles", 2, "title"), ...), ["articles[2]", "field 'title' is required"]),
    "image-without-alt": (change(("articles", 0, "image_alt"), ""), [TALKS, "field 'image_alt'"]),
    "bad-lean": (change(("sources", 1, "bias"), "far_left"), ['sources[1] "left.example"', "field 'bias'"]),
    "bad-domain": (
        change(("sources", 1, "domain"), "https://left.example/"),
        ["sources[1]", "field 'domain'"],
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_names_item_and_field_and_changes_nothing(folder, media_files, existing, case):
    mutate, expected = BAD[case]
    path = write(folder, mutate(copy.deepcopy(GOOD)))
    before = snapshot()
    with pytest.raises(CommandError) as excinfo:
        run(path)
    message = str(excinfo.value)
    assert "nothing was imported" in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert snapshot() == before
    assert media_files() == []


@pytest.mark.parametrize(
    "text",
    ['{"sources": [', "[1, 2, 3]", '{"articles": {}}', '{"extra": []}'],
    ids=["malformed", "list", "dict", "key"],
)
def test_a_malformed_document_is_refused(folder, existing, text):
    before = snapshot()
    with pytest.raises(CommandError, match="nothing was imported"):
        run(write(folder, text))
    assert snapshot() == before


def test_a_missing_file_is_refused(folder):
    with pytest.raises(CommandError, match="file not found"):
        run(str(folder / "nope.json"))


def test_one_bad_story_among_many_good_ones_imports_nothing(folder, media_files, existing):
    document = copy.deepcopy(GOOD)
    for i in range(10):
        document["articles"].append(
            {
                "title": f"Good story {i}",
                "section": "sports",
                "status": "published",
                "published_at": "2026-01-03T09:00:00Z",
                "summary": "Fine.",
                "image": "images/lead.jpg",
                "image_alt": "A picture",
                "image_credit": "example.org",
            }
        )
    document["articles"][9]["section"] = "weather"
    document["articles"][11]["ai_summary"] = 1
    before = snapshot()
    with pytest.raises(CommandError) as excinfo:
        run(write(folder, document))
    message = str(excinfo.value)
    assert "2 problems found" in message
    assert "articles[9] \"Good story 6\": field 'section'" in message
    assert "articles[11] \"Good story 8\": field 'ai_summary'" in message
    assert snapshot() == before
    assert media_files() == []


def test_an_outlet_slug_already_taken_is_named_like_any_other_problem(folder, media_files, existing):
    document = copy.deepcopy(GOOD)
    document["sources"][0]["slug"] = existing.slug
    before = snapshot()
    with pytest.raises(CommandError, match=r'sources\[0\] "BBC.co.uk".*slug'):
        run(write(folder, document))
    assert snapshot() == before
    assert media_files() == []


def test_a_published_story_needs_a_fixed_time_so_reimports_stay_idempotent(folder, media_files):
    story = {
        "title": "Now",
        "section": "world",
        "status": "published",
        "published_at": None,
        "summary": "Hi.",
    }
    before = snapshot()
    with pytest.raises(CommandError, match=r"articles\[0\] \"Now\": field 'published_at' is required"):
        run(write(folder, {"articles": [story]}))
    assert snapshot() == before
    assert media_files() == []


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "written"])
def test_updating_a_story_and_an_outlet_keeps_their_pictures_files(folder, media_files, dry_run):
    """A dry run (and a failed import) removes the files the import wrote: never a story's or an
    outlet's own picture sizes, which an update only leaves where they are."""
    run(write(folder, GOOD))
    before = media_files()
    assert any("_480" in p.name for p in before) and any("_64" in p.name for p in before)
    changed = copy.deepcopy(GOOD)
    changed["articles"][0]["title"] = "Talks progress again"
    del changed["articles"][0]["image"]  # the story keeps its picture
    changed["sources"][0]["name"] = "BBC News"
    del changed["sources"][0]["logo"]
    run(write(folder, changed), *(["--dry-run"] if dry_run else []))
    assert media_files() == before
    story = Article.objects.get(slug="talks-progress")
    assert story.title == ("Talks progress" if dry_run else "Talks progress again")
    for name in [entry[ext] for entry in story.renditions.values() for ext in ("jpg", "webp")]:
        assert story.image.storage.exists(name), name
