"""Everything else that writes or reads pictures, with media in the bucket: the demo newsroom, an
export and its import, the newsdesk's picture fetcher, and the backup (which says where uploads are)."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from articles.models import Article, Source
from articles.transfer.exporting import export_archive
from newsdesk import desk
from tests.factories import image_bytes
from tests.media.test_pages import add_outlet, add_story, logo_names, stored_names
from tests.newsdesk import desk_rows
from tests.newsdesk.servers import Reply, serve

pytestmark = pytest.mark.django_db


def every_stored_name() -> set[str]:
    names = set()
    for article in Article.objects.exclude(image=""):
        names |= stored_names(article)
    for source in Source.objects.exclude(logo=""):
        names |= logo_names(source)
    return names


def test_the_demo_newsroom_loads_into_the_bucket_and_its_front_page_asks_it_nothing(
    bucket, client, media_files
):
    call_command("seed_demo", verbosity=0)

    assert Article.objects.exclude(renditions={}).count() >= 60
    assert Source.objects.exclude(logo_small={}).count() >= 10
    assert bucket.keys() == every_stored_name()  # every picture, logo and size; nothing else
    assert media_files() == []
    bucket.forget()
    assert client.get(reverse("articles:home")).status_code == 200
    assert bucket.seen == []


def test_an_export_reads_the_pictures_from_the_bucket_and_its_import_writes_them_back(
    bucket, editor_client, tmp_path
):
    source = add_outlet(editor_client)
    add_story(editor_client, outlets=[source])
    original = bucket.read(Article.objects.get().image.name)

    export = export_archive(Article.objects.all())
    archive = tmp_path / export.filename
    archive.write_bytes(export.file.read())
    with zipfile.ZipFile(archive) as zf:
        assert zf.read("images/talks-resume.jpg") == original
        assert zf.read(f"logos/harbour-gazette{source.logo.name[-4:]}") == bucket.read(source.logo.name)

    Article.objects.all().delete()
    Source.objects.all().delete()
    before = bucket.keys()
    call_command("import_articles", str(archive), verbosity=0)

    article, source = Article.objects.get(), Source.objects.get()
    assert bucket.keys() == before | stored_names(article) | logo_names(source)
    assert stored_names(article).isdisjoint(before)  # written anew, under new names
    with Image.open(io.BytesIO(bucket.read(article.image.name))) as img:
        assert img.size == (article.image_width, article.image_height) == (1600, 900)


def test_an_import_the_bucket_refuses_names_the_story_and_leaves_nothing(bucket, editor_client, tmp_path):
    (tmp_path / "lead.jpg").write_bytes(image_bytes("JPEG", (800, 400)))
    (tmp_path / "stories.json").write_text(
        '{"sources": [], "articles": [{"title": "Dockers return", "section": "world", "status": "draft",'
        ' "summary": "One.", "image": "lead.jpg"}]}'
    )
    bucket.server.proxy.fail = lambda method, path: "unavailable" if method == "PUT" else None

    with pytest.raises(CommandError, match="field 'image': the picture could not be stored"):
        call_command("import_articles", str(tmp_path / "stories.json"), verbosity=0)

    bucket.server.proxy.fail = None
    assert not Article.objects.exists()
    assert bucket.keys() == set()


def test_the_newsdesk_stores_a_fetched_picture_in_the_bucket(bucket, editor, settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    cand, pieces = desk_rows.newsroom()
    desk_rows.summary(cand)
    with serve(
        {"/lead.jpg": Reply(body=image_bytes("JPEG", (1200, 600)), content_type="image/jpeg")}
    ) as server:
        pieces["center"].image_url = server.url("/lead.jpg")
        pieces["center"].save()
        problems = []
        article = desk.draft_story(candidate=cand, user=editor, on_problem=problems.append)

    assert problems == []
    assert bucket.keys() == stored_names(article)
    assert (article.image_width, article.image_height) == (1200, 600)


def test_the_newsdesk_drafts_without_the_picture_when_the_bucket_is_down(bucket, editor, settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0
    cand, pieces = desk_rows.newsroom()
    desk_rows.summary(cand)
    bucket.server.proxy.fail = lambda method, path: "drop"
    with serve(
        {"/lead.jpg": Reply(body=image_bytes("JPEG", (1200, 600)), content_type="image/jpeg")}
    ) as server:
        pieces["center"].image_url = server.url("/lead.jpg")
        pieces["center"].save()
        problems = []
        article = desk.draft_story(candidate=cand, user=editor, on_problem=problems.append)

    assert not article.image and article.pk
    assert problems and "could not be stored (the media bucket" in problems[-1]
    bucket.server.proxy.fail = None
    assert bucket.keys() == set()


def test_the_backup_says_the_uploads_are_in_the_bucket(bucket, tmp_path):
    with pytest.raises(CommandError, match="The uploads are in the media bucket"):
        call_command("backup", str(tmp_path / "backup"), verbosity=0)
    assert list(tmp_path.iterdir()) == []  # refused before anything was written
