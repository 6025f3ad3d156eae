"""The import format's `"feeds"` on an outlet (newsdesk Feed rows), a document of outlets only, and the
export writing each outlet's feeds; articles reaches the newsdesk only through its registration."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from articles.models import Article, Source
from articles.transfer import exporting, outlet_fields
from articles.transfer.importing import ImportFailed, import_file
from newsdesk.models import Feed
from tests.factories import ArticleFactory, ArticleSourceFactory, SourceFactory

pytestmark = pytest.mark.django_db

OUTLETS = {
    "sources": [
        {
            "name": "Left Times",
            "domain": "left.example",
            "homepage": "https://left.example/",
            "bias": "lean_left",
            "feeds": ["https://left.example/rss.xml", " https://left.example/world/atom "],
        },
        {"name": "Plain", "domain": "plain.example", "homepage": "https://plain.example/"},
    ]
}


def write(tmp_path, document) -> Path:
    path = tmp_path / "outlets.json"
    path.write_text(json.dumps(document))
    return path


def feeds_of(domain) -> list[str]:
    return list(Feed.objects.filter(outlet__domain=domain).order_by("pk").values_list("url", flat=True))


def queued_fetches() -> list[int]:
    rows = DBTaskResult.objects.filter(task_path="newsdesk.tasks.fetch_feed_task")
    return sorted(row.args_kwargs["kwargs"]["feed_id"] for row in rows)


def test_a_document_of_outlets_only_stores_their_feeds_and_queues_a_first_fetch(
    tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = import_file(write(tmp_path, OUTLETS))
    assert result.created == {"sources": 2, "articles": 0}
    assert feeds_of("left.example") == ["https://left.example/rss.xml", "https://left.example/world/atom"]
    assert feeds_of("plain.example") == []
    assert queued_fetches() == sorted(Feed.objects.values_list("pk", flat=True))


def test_re_importing_the_same_feeds_changes_nothing(tmp_path):
    path = write(tmp_path, OUTLETS)
    import_file(path)
    result = import_file(path)
    assert not result.changed
    assert result.unchanged == {"sources": 2, "articles": 0}
    assert Feed.objects.count() == 2


def test_an_import_adds_new_feeds_and_keeps_the_outlets_others(tmp_path):
    outlet = SourceFactory(domain="left.example", name="Left Times", homepage="https://left.example/")
    kept = Feed.objects.create(outlet=outlet, url="https://left.example/old.xml", active=False)
    document = {"sources": [{**OUTLETS["sources"][0], "bias": outlet.bias, "slug": outlet.slug}]}
    result = import_file(write(tmp_path, document))
    assert result.updated["sources"] == 1  # only its feeds changed
    assert feeds_of("left.example") == [
        "https://left.example/old.xml",
        "https://left.example/rss.xml",
        "https://left.example/world/atom",
    ]
    kept.refresh_from_db()
    assert kept.active is False  # the import lists feeds to add; it leaves the others as they were


def test_every_bad_feed_is_named_and_nothing_is_written(tmp_path):
    other = SourceFactory(domain="other.example")
    Feed.objects.create(outlet=other, url="https://taken.example/feed")
    document = {
        "sources": [
            {
                "name": "Left Times",
                "domain": "left.example",
                "homepage": "https://left.example/",
                "feeds": [
                    "https://left.example/rss.xml",
                    "ftp://left.example/rss.xml",
                    "not an address",
                    42,
                    "https://left.example/rss.xml",
                    "https://taken.example/feed",
                    "https://left.example/" + "a" * 1000,
                ],
            },
            {
                "name": "B",
                "domain": "b.example",
                "homepage": "https://b.example/",
                "feeds": "https://b.example/",
            },
            {
                "name": "C",
                "domain": "c.example",
                "homepage": "https://c.example/",
                "feeds": ["https://left.example/rss.xml"],
            },
        ]
    }
    with pytest.raises(ImportFailed) as failed:
        import_file(write(tmp_path, document))
    assert failed.value.errors == [
        "sources[0] \"left.example\": field 'feeds'[1] must be an http:// or https:// address, "
        "got 'ftp://left.example/rss.xml'",
        "sources[0] \"left.example\": field 'feeds'[2] must be an http:// or https:// address, "
        "got 'not an address'",
        "sources[0] \"left.example\": field 'feeds'[3] must be an http:// or https:// address",
        "sources[0] \"left.example\": field 'feeds'[4]: 'https://left.example/rss.xml' is listed twice "
        "in the file (for this outlet)",
        "sources[0] \"left.example\": field 'feeds'[6] is 1021 characters long; the limit is 1000",
        "sources[0] \"left.example\": field 'feeds': 'https://taken.example/feed' is already a feed of "
        "the outlet 'other.example'",
        "sources[1] \"b.example\": field 'feeds' must be a list of http:// or https:// addresses",
        "sources[2] \"c.example\": field 'feeds'[0]: 'https://left.example/rss.xml' is listed twice "
        "in the file (also under 'left.example')",
    ]
    assert not Source.objects.exclude(pk=other.pk).exists()
    assert list(Feed.objects.values_list("url", flat=True)) == ["https://taken.example/feed"]


def test_a_dry_run_stores_no_feed_and_queues_nothing(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = import_file(write(tmp_path, OUTLETS), dry_run=True)
    assert result.created["sources"] == 2
    assert not Feed.objects.exists() and not Source.objects.exists()
    assert callbacks == [] and queued_fetches() == []


def test_the_import_command_reads_a_document_of_outlets_only(tmp_path):
    out = io.StringIO()
    call_command("import_articles", str(write(tmp_path, OUTLETS)), "--no-progress", stdout=out)
    assert "sources: 2 created" in out.getvalue()
    assert len(feeds_of("left.example")) == 2
    with pytest.raises(CommandError, match=r"field 'feeds'\[0\] must be an http"):
        call_command(
            "import_articles",
            str(
                write(tmp_path, {"sources": [{**OUTLETS["sources"][1], "feeds": ["mailto:x@plain.example"]}]})
            ),
            "--no-progress",
        )


def test_the_export_writes_each_outlets_feeds_and_they_come_back(tmp_path):
    with_feeds = SourceFactory(domain="left.example")
    without = SourceFactory(domain="plain.example")
    urls = ["https://left.example/rss.xml", "https://left.example/atom.xml"]
    for url in urls:
        Feed.objects.create(outlet=with_feeds, url=url)
    story = ArticleFactory(slug="with-sources")
    ArticleSourceFactory(article=story, source=with_feeds)
    ArticleSourceFactory(article=story, source=without)
    archive = exporting.export_archive(Article.objects.filter(pk=story.pk))
    with zipfile.ZipFile(archive.file) as zf:
        document = json.loads(zf.read(exporting.DOCUMENT_NAME))
    entries = {entry["domain"]: entry for entry in document["sources"]}
    assert entries["left.example"]["feeds"] == urls
    assert "feeds" not in entries["plain.example"]

    Feed.objects.all().delete()
    result = import_file(write(tmp_path, document))
    assert feeds_of("left.example") == urls
    assert result.updated["sources"] == 1 and result.unchanged["articles"] == 1


def test_without_the_newsdesk_registered_feeds_is_an_unknown_field(tmp_path, monkeypatch):
    monkeypatch.setattr(outlet_fields, "_registered", {})
    with pytest.raises(ImportFailed) as failed:
        import_file(write(tmp_path, OUTLETS))
    assert failed.value.errors == ["sources[0] \"left.example\": unknown field 'feeds'"]


def test_articles_never_imports_the_newsdesk():
    """One-way arrow: newsdesk -> articles. articles reaches the feeds through outlet_fields only."""
    root = Path(__file__).resolve().parents[2] / "articles"
    importing = re.compile(r"^\s*(from|import)\s+newsdesk\b", re.MULTILINE)
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if importing.search(p.read_text())]
    assert offenders == []
