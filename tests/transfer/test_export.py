"""Exporting stories from the admin in the import format, and reading the .zip back with
`manage.py import_articles`: a round trip gives back the same stories, sources, ratings and pictures."""

import io
import json
import random
import stat
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from articles import images
from articles.models import Article, BiasRating, Category, Source
from articles.newsroom import stories
from articles.transfer import archives as import_archive
from articles.transfer import exporting as exporters
from tests.factories import (
    ArticleFactory,
    ArticleSourceFactory,
    BiasRatingFactory,
    CategoryFactory,
    SourceFactory,
    image_bytes,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:articles_article_changelist")
ACTION = "export_selected"


def photo_bytes(fmt="JPEG", size=(320, 200), seed=7) -> bytes:
    """A noisy picture, like a photograph: decoding and re-encoding it does not give the same bytes."""
    rng = random.Random(seed)
    img = Image.new("RGB", size)
    img.putdata([(rng.randrange(256), rng.randrange(256), (i * 7) % 256) for i in range(size[0] * size[1])])
    out = io.BytesIO()
    img.save(out, fmt, quality=90)
    return out.getvalue()


def export(client, articles, *, follow=False, **extra):
    data = {"action": ACTION, "_selected_action": [a.pk for a in articles], "index": "0", **extra}
    return client.post(CHANGELIST, data, follow=follow)


def download(response) -> bytes:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="newsroom-export-')
    return b"".join(response.streaming_content)


def read_bytes(field_file) -> bytes:
    with field_file.storage.open(field_file.name, "rb") as fh:
        return fh.read()


def snapshot(article: Article) -> dict:
    """Everything the import format carries about a story, as plain values."""
    article.refresh_from_db()
    rating = BiasRating.objects.filter(article=article).first()
    return {
        "fields": {
            name: getattr(article, name)
            for name in (
                "title",
                "slug",
                "status",
                "published_at",
                "summary",
                "summary_html",
                "ai_summary",
                "featured",
                "image_alt",
                "image_credit",
                "image_width",
                "image_height",
            )
        },
        "section": article.category.slug,
        "image": read_bytes(article.image) if article.image else None,
        "sources": list(
            article.article_sources.order_by("position", "pk").values_list(
                "source__domain", "url", "title", "position", "wire_copy"
            )
        ),
        "rating": rating
        and (rating.method, rating.left, rating.center, rating.right, rating.unrated_sources),
        "modified_at": article.modified_at,
    }


def outlet_snapshot(source: Source) -> dict:
    source.refresh_from_db()
    return {
        "values": (source.name, source.slug, source.homepage, source.bias, source.description),
        "logo": read_bytes(source.logo) if source.logo else None,
    }


@pytest.fixture
def newsroom():
    """Four stories covering what the format carries: every status, pictures that would not survive a
    re-encoding byte for byte, an editor's rating, a computed one, none, and sources in a set order."""
    left = SourceFactory(
        name="Left Times", domain="left.example", bias=Source.Lean.LEAN_LEFT, description="A daily."
    )
    left.logo.save("left.png", ContentFile(photo_bytes("PNG", (120, 60))), save=True)
    centre = SourceFactory(
        name="Centre Post", domain="centre.example", bias=Source.Lean.CENTER, with_logo=True
    )
    unrated = SourceFactory(name="Wire", domain="wire.example", bias=Source.Lean.UNRATED)
    politics = CategoryFactory(slug="politics")

    live = ArticleFactory(
        title="Talks resume in Geneva",
        summary="First *paragraph*.\n\nSecond, with a [link](https://example.org/).",
        ai_summary=True,
        featured=True,
        published_at=timezone.now() - timedelta(hours=5, microseconds=123457),
        image=ContentFile(photo_bytes(), name="talks.jpg"),
        image_alt="Delegates around a table",
        image_credit="left.example",
    )
    BiasRatingFactory(article=live, left=15, center=80, right=5)
    # Two citations at the same position: their order comes from the rows' order.
    ArticleSourceFactory(article=live, source=centre, url="https://centre.example/a", title="A", position=0)
    ArticleSourceFactory(article=live, source=left, url="https://left.example/b", title="", position=0)
    ArticleSourceFactory(
        article=live, source=unrated, url="https://wire.example/c", title="C", position=3, wire_copy=True
    )

    scheduled = ArticleFactory(
        title="Budget day",
        category=politics,
        published_at=timezone.now() + timedelta(days=2),
        image=ContentFile(photo_bytes("PNG", (200, 100), seed=3), name="budget.png"),
        image_alt="A red box",
        image_credit="Treasury",
    )
    ArticleSourceFactory(article=scheduled, source=left, url="https://left.example/budget", position=1)
    ArticleSourceFactory(article=scheduled, source=unrated, url="https://wire.example/budget", position=2)
    # A second piece of the left outlet and a wire copy at the centre one: neither moves the bar.
    ArticleSourceFactory(article=scheduled, source=left, url="https://left.example/budget-2", position=3)
    ArticleSourceFactory(
        article=scheduled, source=centre, url="https://centre.example/copy", position=4, wire_copy=True
    )
    stories.bias_rating_refresh(article=scheduled)  # computed: left 100%, one unrated outlet

    # Drafts may lack the picture's description and credit.
    draft = ArticleFactory(
        title="A draft",
        draft=True,
        summary="Not yet.",
        image=ContentFile(image_bytes("WEBP", (90, 60)), name="draft.webp"),
    )
    unpublished = ArticleFactory(title="Pulled back", unpublished=True, image_credit="Agency")
    return [live, scheduled, draft, unpublished]


def delete_with_files(articles):
    """Delete the stories, the outlets no other story cites, and all their files."""
    outlets = {c.source for a in articles for c in a.article_sources.select_related("source")}
    names = []
    for article in articles:
        names += [article.image.name, *images.rendition_files(article.renditions)]
        article.delete()
    for outlet in outlets:
        if not outlet.citations.exists():
            names += [outlet.logo.name, outlet.logo_small.get("png"), outlet.logo_small.get("webp")]
            outlet.delete()
    images.delete_files(names)


def run_import(path, **kwargs) -> str:
    out = io.StringIO()
    call_command("import_articles", str(path), stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


# --- The round trip --------------------------------------------------------------------------------


def test_export_delete_import_gives_back_the_same_stories(editor_client, newsroom, tmp_path, media_files):
    before = {a.slug: snapshot(a) for a in newsroom}
    outlets_before = {s.domain: outlet_snapshot(s) for s in Source.objects.all()}
    assert before["talks-resume-in-geneva"]["rating"] == ("editorial", 15, 80, 5, 0)
    assert before["budget-day"]["rating"] == ("sources", 100, 0, 0, 1)

    archive = tmp_path / "export.zip"
    archive.write_bytes(download(export(editor_client, newsroom)))
    delete_with_files(newsroom)
    assert Article.objects.count() == Source.objects.count() == 0
    assert media_files() == []

    summary = run_import(archive)
    assert "sources: 3 created, 0 updated, 0 unchanged" in summary
    assert "articles: 4 created, 0 updated, 0 unchanged" in summary
    after = {a.slug: snapshot(a) for a in Article.objects.all()}
    assert after == before
    assert {s.domain: outlet_snapshot(s) for s in Source.objects.all()} == outlets_before
    # Stored anew: fresh names, and renditions made for them.
    for article in Article.objects.exclude(image=""):
        assert article.renditions and all(f.is_file() for f in media_files() if article.image.name in str(f))

    summary = run_import(archive)
    assert "sources: 0 created, 0 updated, 3 unchanged" in summary
    assert "articles: 0 created, 0 updated, 4 unchanged" in summary


def test_importing_an_export_over_the_same_stories_changes_nothing(editor_client, newsroom, tmp_path):
    before = {a.slug: snapshot(a) for a in newsroom}
    archive = tmp_path / "export.zip"
    archive.write_bytes(download(export(editor_client, newsroom)))
    summary = run_import(archive)
    assert "sources: 0 created, 0 updated, 3 unchanged" in summary
    assert "articles: 0 created, 0 updated, 4 unchanged" in summary
    assert {a.slug: snapshot(a) for a in Article.objects.all()} == before  # no "Updated" either


def test_the_archive_is_the_documented_import_format(editor_client, newsroom):
    live = newsroom[0]
    with zipfile.ZipFile(io.BytesIO(download(export(editor_client, newsroom[:1])))) as zf:
        names = set(zf.namelist())
        document = json.loads(zf.read("articles.json"))
        assert zf.read("images/talks-resume-in-geneva.jpg") == read_bytes(live.image)
    assert names == {
        "articles.json",
        "export-signature",
        "images/talks-resume-in-geneva.jpg",
        f"logos/{Source.objects.get(domain='left.example').slug}.png",
        f"logos/{Source.objects.get(domain='centre.example').slug}.png",
    }
    (story,) = document["articles"]
    assert story == {
        "title": "Talks resume in Geneva",
        "slug": "talks-resume-in-geneva",
        "section": "world",
        "status": "published",
        "published_at": timezone.localtime(live.published_at).isoformat(),
        "summary": live.summary,
        "ai_summary": True,
        "featured": True,
        "image": "images/talks-resume-in-geneva.jpg",
        "image_alt": "Delegates around a table",
        "image_credit": "left.example",
        "bias": {"left": 15, "center": 80, "right": 5},
        "sources": [
            {"domain": "centre.example", "url": "https://centre.example/a", "title": "A", "position": 0},
            {"domain": "left.example", "url": "https://left.example/b", "title": "", "position": 0},
            {
                "domain": "wire.example",
                "url": "https://wire.example/c",
                "title": "C",
                "position": 3,
                "wire_copy": True,  # only on copies: false when left out
            },
        ],
    }
    assert "+" in story["published_at"] or "-" in story["published_at"][19:]
    assert [s["domain"] for s in document["sources"]] == ["centre.example", "left.example", "wire.example"]
    left = next(s for s in document["sources"] if s["domain"] == "left.example")
    assert left == {
        "name": "Left Times",
        "slug": Source.objects.get(domain="left.example").slug,
        "domain": "left.example",
        "homepage": "https://left.example/",
        "bias": "lean_left",
        "description": "A daily.",
        "logo": f"logos/{left['slug']}.png",
        # Its dated history (articles.transfer.outlet_ratings): SourceFactory's rating since 2000.
        "ratings": [
            {
                "lean": "lean_left",
                "effective_from": "2000-01-01",
                "rater_kind": "newsroom",
                "rater_name": "",
                "method": "Test rating",
                "confidence": "medium",
                "note": "",
                "link": "",
            }
        ],
    }


def test_a_computed_rating_is_left_for_the_import_to_compute(editor_client, newsroom):
    with zipfile.ZipFile(io.BytesIO(download(export(editor_client, newsroom)))) as zf:
        stories = {s["slug"]: s for s in json.loads(zf.read("articles.json"))["articles"]}
    assert "bias" not in stories["budget-day"]
    assert stories["a-draft"]["published_at"] is None and stories["a-draft"]["status"] == "draft"
    assert stories["pulled-back"]["published_at"] is not None and stories["pulled-back"]["status"] == "draft"
    assert "image" not in stories["pulled-back"]
    assert stories["a-draft"]["image"] == "images/a-draft.webp"


def test_a_picture_changed_inside_a_signed_archive_is_re_encoded(editor_client, newsroom, tmp_path):
    original = io.BytesIO(download(export(editor_client, newsroom[:1])))
    tampered = photo_bytes(seed=99)
    archive = tmp_path / "tampered.zip"
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(archive, "w") as dst:
        for info in src.infolist():
            data = tampered if info.filename.startswith("images/") else src.read(info)
            dst.writestr(info, data)
    delete_with_files(newsroom[:1])
    run_import(archive)
    stored = read_bytes(Article.objects.get(slug="talks-resume-in-geneva").image)
    assert stored != tampered
    assert stored == images.clean_upload(io.BytesIO(tampered)).content.read()


def test_an_archive_signed_by_another_site_is_imported_with_pictures_re_encoded(
    editor_client, newsroom, tmp_path, settings
):
    archive = tmp_path / "export.zip"
    archive.write_bytes(download(export(editor_client, newsroom[:1])))
    exported = read_bytes(newsroom[0].image)
    delete_with_files(newsroom[:1])
    settings.SECRET_KEY = "another site's key, long enough to be a real one: 8f2c"
    summary = run_import(archive)
    assert "signature does not match this site" in summary
    assert "articles: 1 created" in summary
    stored = read_bytes(Article.objects.get(slug="talks-resume-in-geneva").image)
    assert stored != exported
    assert stored == images.clean_upload(io.BytesIO(exported)).content.read()


# --- Who may export, and what is refused -----------------------------------------------------------


def test_writers_may_export_drafts_they_can_see(writer_client, newsroom):
    with zipfile.ZipFile(io.BytesIO(download(export(writer_client, newsroom[2:3])))) as zf:
        (story,) = json.loads(zf.read("articles.json"))["articles"]
    assert story["title"] == "A draft"


def test_the_action_is_offered_to_anyone_who_may_view_stories(client, django_user_model, newsroom):
    viewer = django_user_model.objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    html = client.get(CHANGELIST).content.decode()
    assert '<option value="export_selected">Export the selected stories (import format)</option>' in html
    assert "publish_selected" not in html
    download(export(client, newsroom[:2]))


def test_staff_who_may_not_view_stories_cannot_export(client, django_user_model, newsroom):
    outsider = django_user_model.objects.create_user(username="outsider", is_staff=True)
    outsider.user_permissions.add(Permission.objects.get(codename="view_source"))
    client.force_login(outsider)
    assert export(client, newsroom).status_code == 403


def test_too_many_stories_are_refused_with_a_message(editor_client, newsroom, monkeypatch):
    monkeypatch.setattr(exporters, "EXPORT_LIMIT", 3)
    response = export(editor_client, newsroom, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(CHANGELIST)
    html = response.content.decode()
    assert "You selected 4 stories; export at most 3 at a time (filter the list or select fewer)." in html
    assert download(export(editor_client, newsroom[:3]))


def test_select_all_across_pages_counts_every_story(editor_client, newsroom, monkeypatch):
    monkeypatch.setattr(exporters, "EXPORT_LIMIT", 3)
    response = export(editor_client, newsroom[:1], follow=True, select_across="1")
    assert "You selected 4 stories" in response.content.decode()


def test_a_picture_missing_from_storage_refuses_the_export_and_names_the_story(editor_client, newsroom):
    live = newsroom[0]
    live.image.storage.delete(live.image.name)
    response = export(editor_client, newsroom, follow=True)
    html = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert "Nothing was exported: &quot;Talks resume in Geneva&quot;: its file" in html
    assert "is missing from storage" in html


def test_stories_the_importer_would_refuse_are_named(editor_client, newsroom):
    Article.objects.filter(pk=newsroom[0].pk).update(slug="Talks_Resume", image_alt="")
    Article.objects.filter(pk=newsroom[1].pk).update(image_credit=" ")
    Article.objects.filter(pk=newsroom[2].pk).update(image_alt="", image_credit="")  # a draft: fine
    html = export(editor_client, newsroom, follow=True).content.decode()
    assert "its web address &#x27;Talks_Resume&#x27; has capitals or other characters" in html
    assert "&quot;Talks resume in Geneva&quot;: Describe the lead image before publishing" in html
    assert "&quot;Budget day&quot;: Credit the lead image before publishing" in html
    assert "&quot;A draft&quot;:" not in html


def test_export_queries_stay_bounded(editor_client, django_assert_max_num_queries):
    outlets = SourceFactory.create_batch(3)
    stories = []
    for i in range(12):
        story = ArticleFactory(category=CategoryFactory(slug=["world", "sports"][i % 2]))
        for outlet in outlets:
            ArticleSourceFactory(article=story, source=outlet)
        BiasRatingFactory(article=story)
        stories.append(story)
    # Session, user, permissions and the changelist's own queries, then: count, stories, citations,
    # the outlets' feeds (one query for all, newsdesk.transfer) and their ratings (one query for all).
    with django_assert_max_num_queries(14):
        download(export(editor_client, stories))


# --- The import format: citation positions ---------------------------------------------------------


def test_citation_positions_are_read_and_checked(tmp_path):
    Source.objects.create(name="Wire", slug="wire", domain="wire.example", homepage="https://wire.example/")
    story = {
        "title": "Ordered",
        "slug": "ordered",
        "section": "world",
        "summary": "Text.",
        "sources": [
            {"domain": "wire.example", "url": "https://wire.example/2", "position": 5},
            {"domain": "wire.example", "url": "https://wire.example/1", "position": 1},
            {"domain": "wire.example", "url": "https://wire.example/3"},
        ],
    }
    path = tmp_path / "import.json"
    path.write_text(json.dumps({"articles": [story]}))
    run_import(path)
    article = Article.objects.get(slug="ordered")
    assert list(article.article_sources.order_by("position", "pk").values_list("url", "position")) == [
        ("https://wire.example/1", 1),
        ("https://wire.example/3", 2),  # no position: its place in the list
        ("https://wire.example/2", 5),
    ]
    for bad in (-1, "1", True, 40000, 1.5):
        story["sources"][0]["position"] = bad
        path.write_text(json.dumps({"articles": [story]}))
        with pytest.raises(CommandError) as caught:
            run_import(path)
        assert "sources[0]: field 'position' must be a whole number from 0 to 32767" in str(caught.value)


# --- Reading a .zip safely -------------------------------------------------------------------------

DOCUMENT = {"articles": [{"title": "Zipped", "slug": "zipped", "section": "world", "summary": "Hi."}]}


def make_zip(path, members):
    """members: (name or ZipInfo, bytes) pairs."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def symlink(name, target):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def mark_encrypted(path, name):
    """Set the "encrypted" flag of a member in the central directory (zipfile cannot write one)."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first central directory entry
    while True:
        name_length = int.from_bytes(data[entry + 28 : entry + 30], "little")
        if data[entry + 46 : entry + 46 + name_length] == name.encode():
            data[entry + 8] |= 0x1
            break
        extra = int.from_bytes(data[entry + 30 : entry + 32], "little")
        comment = int.from_bytes(data[entry + 32 : entry + 34], "little")
        entry += 46 + name_length + extra + comment
    path.write_bytes(bytes(data))


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Temporary folders land here, so a test can see that none is left behind."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder


def test_a_plain_zip_of_a_json_file_and_its_pictures_imports(tmp_path, scratch):
    document = json.loads(json.dumps(DOCUMENT))
    document["articles"][0] |= {"image": "pictures/a.jpg", "image_alt": "A picture"}
    archive = make_zip(
        tmp_path / "stories.zip",
        [("articles.json", json.dumps(document)), ("pictures/", b""), ("pictures/a.jpg", image_bytes())],
    )
    assert "articles: 1 created" in run_import(archive)
    assert Article.objects.get(slug="zipped").image
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("articles.json", "{}"), ("/etc/evil.jpg", b"x")], "'/etc/evil.jpg' has an absolute path"),
        ([("articles.json", "{}"), ("C:/evil.jpg", b"x")], "'C:/evil.jpg' has an absolute path"),
        ([("articles.json", "{}"), ("images/../../evil.jpg", b"x")], "points outside the archive (..)"),
        (
            [("articles.json", "{}"), symlink("images/a.jpg", "/etc/passwd")],
            "'images/a.jpg' is a symbolic link",
        ),
        ([("articles.json", "{}"), ("images\\a.jpg", b"x")], "has a name with a backslash"),
        ([("images/a.jpg", b"x")], "no articles.json at the top of the archive"),
        ([("export/articles.json", "{}")], "no articles.json at the top of the archive"),
    ],
    ids=[
        "absolute",
        "drive",
        "dot-dot",
        "symlink",
        "backslash",
        "no-document",
        "nested-document",
    ],
)
def test_unsafe_archives_are_refused_before_anything_is_unpacked(tmp_path, scratch, members, message):
    archive = make_zip(tmp_path / "bad.zip", members)
    with pytest.raises(CommandError) as caught:
        run_import(archive)
    text = str(caught.value)
    assert "nothing was imported" in text
    assert f"{archive}: " in text and message in text
    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "evil.jpg").exists()
    assert Article.objects.count() == 0


def test_encrypted_members_are_refused(tmp_path, scratch):
    archive = make_zip(tmp_path / "locked.zip", [("articles.json", "{}"), ("images/a.jpg", b"x")])
    mark_encrypted(archive, "images/a.jpg")
    with pytest.raises(CommandError, match=r"'images/a\.jpg' is encrypted"):
        run_import(archive)
    assert list(scratch.iterdir()) == []


def test_too_many_files_are_refused(tmp_path, scratch, monkeypatch):
    monkeypatch.setattr(import_archive, "MAX_MEMBERS", 3)
    members = [("articles.json", json.dumps(DOCUMENT))] + [(f"images/{i}.jpg", b"x") for i in range(3)]
    with pytest.raises(CommandError, match=r"holds 4 files; the limit is 3"):
        run_import(make_zip(tmp_path / "many.zip", members))
    assert list(scratch.iterdir()) == []


def test_too_many_bytes_are_refused(tmp_path, scratch, monkeypatch):
    monkeypatch.setattr(import_archive, "MAX_TOTAL_BYTES", 10_000)
    members = [("articles.json", json.dumps(DOCUMENT)), ("images/big.bin", b"\0" * 20_000)]
    with pytest.raises(CommandError, match=r"unpacks to 0\.0 GB; the limit is 0\.0 GB"):
        run_import(make_zip(tmp_path / "bomb.zip", members))
    assert list(scratch.iterdir()) == []
    assert Article.objects.count() == 0


def test_a_file_that_is_not_a_zip_is_named_as_such(tmp_path):
    path = tmp_path / "stories.zip"
    path.write_bytes(b"PK\x03\x04 but then nothing")
    with pytest.raises(CommandError, match=r"not a \.zip archive we can read"):
        run_import(path)
    with pytest.raises(CommandError, match=r"missing\.zip: file not found"):
        run_import(tmp_path / "missing.zip")


def test_errors_inside_an_archive_name_the_archive_not_a_temporary_folder(tmp_path, scratch):
    archive = make_zip(tmp_path / "stories.zip", [("articles.json", "{not json")])
    with pytest.raises(CommandError) as caught:
        run_import(archive)
    assert f"{archive}/articles.json: not valid JSON" in str(caught.value)
    assert str(scratch) not in str(caught.value)

    document = json.loads(json.dumps(DOCUMENT))
    document["articles"][0] |= {"image": "images/missing.jpg", "image_alt": "x"}
    archive = make_zip(tmp_path / "stories2.zip", [("articles.json", json.dumps(document))])
    with pytest.raises(CommandError, match=r"field 'image': file 'images/missing\.jpg' not found"):
        run_import(archive)
    assert Article.objects.count() == 0


def test_dry_run_of_an_archive_writes_nothing(editor_client, newsroom, tmp_path, media_files):
    archive = tmp_path / "export.zip"
    archive.write_bytes(download(export(editor_client, newsroom)))
    delete_with_files(newsroom)
    assert "Dry run (nothing written): " in run_import(archive, dry_run=True)
    assert Article.objects.count() == 0 and Category.objects.exists()
    assert media_files() == []


# --- The progress bar ------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self):
        return True


def import_with_streams(path, stderr, **kwargs):
    out = io.StringIO()
    call_command("import_articles", str(path), stdout=out, stderr=stderr, **kwargs)
    return out.getvalue(), stderr.getvalue()


@pytest.fixture
def many_stories(tmp_path):
    stories = [
        {"title": f"Story {i}", "slug": f"story-{i}", "section": "world", "summary": "Text."}
        for i in range(30)
    ]
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"articles": stories}))
    return path


def test_a_terminal_sees_progress_bars_on_stderr(many_stories):
    out, err = import_with_streams(many_stories, Terminal())
    assert "Checking: 100%" in err and "30/30" in err
    assert "Importing: 100%" in err
    assert "articles: 30 created" in out and "Checking" not in out


def test_no_bar_when_stderr_is_not_a_terminal_or_verbosity_is_0(many_stories):
    out, err = import_with_streams(many_stories, io.StringIO())
    assert err == "" and "articles: 30 created" in out
    Article.objects.all().delete()
    out, err = import_with_streams(many_stories, Terminal(), verbosity=0)
    assert err == "" and out == ""


def test_progress_can_be_forced_on_or_off(many_stories):
    _, err = import_with_streams(many_stories, io.StringIO(), progress=True)
    assert "Checking: 100%" in err and "Importing: 100%" in err
    Article.objects.all().delete()
    _, err = import_with_streams(many_stories, Terminal(), progress=False)
    assert err == ""


def test_a_failed_import_closes_its_bar_and_lists_the_problems(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"articles": [{"title": "No section", "summary": "x"}]}))
    stderr = Terminal()
    with pytest.raises(CommandError, match="1 problem found; nothing was imported"):
        import_with_streams(path, stderr)
    assert "Checking: 100%" in stderr.getvalue()
