"""No lost edits: two editors on one story, a save refused rather than overwrite, and saves that
fail half-way (an inline error, a storage error writing the picture) leaving everything as it was."""

import errno
import html as htmllib
import re
import threading
import time
from unittest import mock

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from reversion.models import Version

from articles.models import Article, ArticleSource
from tests.admin.test_admin import ADD, CHANGELIST, _FormFields, browser_post, citations, story
from tests.conftest import signed_in_client, staff_user
from tests.factories import ArticleFactory, ArticleSourceFactory, SourceFactory, import_one_story

pytestmark = pytest.mark.django_db


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def opened_form(client, url, form_id="article_form") -> dict:
    """What a browser would send from the form as it was when the page was opened."""
    response = client.get(url)
    assert response.status_code == 200
    parser = _FormFields(form_id)
    parser.feed(response.content.decode())
    assert parser.fields, f"no form #{form_id} on {url}"
    return {k: v for k, v in parser.fields.items() if "__prefix__" not in k}


def edited(fields: dict, **changes) -> dict:
    return fields | {name.replace("__", "-"): value for name, value in changes.items()}


def page_text(response) -> str:
    """The page's text with tags dropped and entities decoded, whitespace collapsed."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def other_editor(db, django_user_model):
    return staff_user(django_user_model, "casey", "Editors", first_name="Casey", last_name="Lee")


@pytest.fixture
def other_client(other_editor):
    return signed_in_client(other_editor)


@pytest.fixture
def created_story(editor_client):
    """A story created through the admin (so its history starts with a revision), with one source."""
    response = browser_post(
        editor_client,
        ADD,
        **story(title="Harbour talks", summary="Talks resume."),
        **citations(SourceFactory()),
    )
    assert response.status_code == 302
    return Article.objects.get(slug="talks-resume")


# --- Two editors, one story ------------------------------------------------------------------------


def test_the_second_of_two_saves_is_refused_with_who_when_and_a_link_to_the_changes(
    editor_client, other_client, created_story
):
    url = change_url(created_story)
    mine, theirs = opened_form(editor_client, url), opened_form(other_client, url)
    assert mine["lock_version"] == theirs["lock_version"] == "0"

    first = other_client.post(url, edited(theirs, title="Harbour talks collapse"))
    assert first.status_code == 302

    second = editor_client.post(url, edited(mine, title="Harbour talks drag on", summary="Still talking."))
    assert second.status_code == 200
    text = page_text(second)
    saved_at = Article.objects.get(pk=created_story.pk).updated_at
    assert re.search(
        r"Casey Lee saved this story at \d{1,2} \w{3} \d{4}, \d\d:\d\d (GMT|BST) after you opened it\. "
        r"Your changes were not saved\.",
        text,
    ), text[:2000]
    assert f"{saved_at:%Y}" in text
    # The editor's input is still in the form, nothing of it in the database.
    assert 'value="Harbour talks drag on"' in second.content.decode()
    assert "Still talking." in second.content.decode()
    article = Article.objects.get(pk=created_story.pk)
    assert (article.title, article.summary, article.lock_version) == (
        "Harbour talks collapse",
        "Talks resume.",
        1,
    )

    # The link opens (in a new tab) the difference between what this editor opened and now.
    link = re.search(
        r'<a href="([^"]+)" id="lock-conflict-changes" target="_blank" rel="noopener">'
        r"See what they changed</a> \(opens in a new tab\)",
        second.content.decode(),
    )
    assert link, second.content.decode()[:3000]
    changes = editor_client.get(htmllib.unescape(link.group(1)))
    assert changes.status_code == 200
    page = changes.content.decode()
    assert '<del class="diff-old">Harbour talks</del>' in page
    assert '<ins class="diff-new">Harbour talks collapse</ins>' in page
    assert "Casey Lee" in page_text(changes)

    # Opened afresh, the editor's form saves.
    third = editor_client.post(url, edited(opened_form(editor_client, url), title="Harbour talks drag on"))
    assert third.status_code == 302
    article.refresh_from_db()
    assert (article.title, article.lock_version) == ("Harbour talks drag on", 2)


def test_saving_the_refused_form_again_is_a_deliberate_replacement(
    editor_client, other_client, created_story
):
    url = change_url(created_story)
    mine, theirs = opened_form(editor_client, url), opened_form(other_client, url)
    other_client.post(url, edited(theirs, title="Their title"))
    refused = editor_client.post(url, edited(mine, title="My title"))
    assert refused.status_code == 200
    assert "save again to replace their version with yours" in page_text(refused)
    again = _FormFields("article_form")
    again.feed(refused.content.decode())
    resent = {k: v for k, v in again.fields.items() if "__prefix__" not in k}
    assert resent["title"] == "My title"
    assert resent["lock_version"] == "1"  # the number of the version the editor has now been shown
    assert editor_client.post(url, resent).status_code == 302
    assert Article.objects.get(pk=created_story.pk).title == "My title"


def test_a_conflict_with_ones_own_other_tab_says_so(editor_client, created_story):
    url = change_url(created_story)
    tab_one, tab_two = opened_form(editor_client, url), opened_form(editor_client, url)
    assert editor_client.post(url, edited(tab_one, title="From tab one")).status_code == 302
    refused = editor_client.post(url, edited(tab_two, title="From tab two"))
    assert "You (in another tab or window) saved this story at" in page_text(refused)
    assert Article.objects.get(pk=created_story.pk).title == "From tab one"


def test_a_form_without_its_lock_number_is_refused(editor_client, created_story):
    url = change_url(created_story)
    fields = opened_form(editor_client, url)
    del fields["lock_version"]
    response = editor_client.post(url, edited(fields, title="Changed"))
    assert response.status_code == 200
    assert "This edit form is out of date" in page_text(response)
    assert Article.objects.get(pk=created_story.pk).title == "Harbour talks"


def _bulk_unpublish(client, article, tmp_path):
    response = client.post(
        CHANGELIST, {"action": "unpublish_selected", "_selected_action": [article.pk], "index": "0"}
    )
    assert response.status_code == 302


def _import(client, article, tmp_path):
    import_one_story(tmp_path, slug=article.slug, title="Imported title", published_at="2026-01-01T09:00:00Z")


def _restore(client, article, tmp_path):
    oldest = Version.objects.get_for_object(article).order_by("pk").first()
    restore = reverse("admin:articles_article_history_restore", args=[article.pk, oldest.pk])
    assert browser_post(client, restore, form_id="restore-form").status_code == 302


@pytest.mark.parametrize(
    "other_save", [_bulk_unpublish, _import, _restore], ids=["bulk", "import", "restore"]
)
def test_every_kind_of_save_makes_an_open_form_stale(editor_client, other_client, tmp_path, other_save):
    response = browser_post(
        editor_client,
        ADD,
        **story(status="published", published_at_0="2026-01-01", published_at_1="09:00:00"),
    )
    assert response.status_code == 302
    article = Article.objects.get(slug="talks-resume")
    assert browser_post(editor_client, change_url(article), title="Second title").status_code == 302
    article.refresh_from_db()
    before = article.lock_version
    fields = opened_form(editor_client, change_url(article))
    other_save(other_client, article, tmp_path)
    article.refresh_from_db()
    assert article.lock_version == before + 1
    saved_by_other = article.title
    refused = editor_client.post(change_url(article), edited(fields, title="Lost?"))
    assert refused.status_code == 200
    assert "Your changes were not saved" in page_text(refused)
    assert Article.objects.get(pk=article.pk).title == saved_by_other


@pytest.mark.postgres
def test_the_check_locks_the_story_row_inside_the_save(editor_client, created_story):
    url = change_url(created_story)
    fields = opened_form(editor_client, url)
    with CaptureQueriesContext(connection) as queries:
        assert editor_client.post(url, edited(fields, title="Locked")).status_code == 302
    locking = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"] and '"articles_article"' in q["sql"]]
    assert locking, "the lock number was not read under a row lock"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_save_waits_for_one_in_progress_then_is_refused(editor, other_editor):
    """Truly concurrent: while one save holds the row, the other waits for it, then sees it."""
    article = ArticleFactory(title="Original", draft=True)
    client = signed_in_client(other_editor)
    url = change_url(article)
    fields = opened_form(client, url)
    outcome = []

    def post_from_other_thread():
        try:
            outcome.append(client.post(url, edited(fields, title="Second writer")))
        finally:
            connection.close()

    with transaction.atomic():
        Article.objects.select_for_update().get(pk=article.pk)  # a first save, still in progress
        worker = threading.Thread(target=post_from_other_thread)
        worker.start()
        deadline = time.monotonic() + 20
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # else frozen for the transaction
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
                    "current_database()"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"the second save never waited for the row lock: {outcome}")
        Article.objects.filter(pk=article.pk).update(
            title="First writer", lock_version=F("lock_version") + 1, updated_by=editor
        )
    worker.join(20)
    assert outcome and outcome[0].status_code == 200
    assert "Your changes were not saved" in page_text(outcome[0])
    assert Article.objects.get(pk=article.pk).title == "First writer"


# --- A failed save leaves everything as it was -----------------------------------------------------


@pytest.fixture
def illustrated(db):
    article = ArticleFactory(with_image=True, title="Before", draft=True)
    ArticleSourceFactory(article=article, url="https://outlet.example/original")
    article.refresh_from_db()
    return article


def state(article):
    article = Article.objects.get(pk=article.pk)
    sources = list(ArticleSource.objects.filter(article=article).values_list("source_id", "url", "title"))
    return (article.title, article.image.name, article.renditions, article.lock_version, sources)


def test_an_inline_error_saves_nothing_not_even_the_valid_parts(
    editor_client, illustrated, media_files, make_image
):
    before, files = state(illustrated), media_files()
    upload = SimpleUploadedFile("new.jpg", make_image("JPEG", (800, 400)), content_type="image/jpeg")
    response = browser_post(
        editor_client,
        change_url(illustrated),
        title="After",
        image=upload,
        article_sources__0__url="not a web address",
    )
    assert response.status_code == 200
    assert '<ul class="errorlist" id="id_article_sources-0-url_error"><li>Enter a valid URL.</li></ul>' in (
        response.content.decode()
    )
    assert state(illustrated) == before
    assert media_files() == files
    assert not Version.objects.get_for_object(illustrated).exists()


def failing_storage(from_call: int):
    """FileSystemStorage.save raising "No space left on device" from its `from_call`-th write on."""
    real_save, calls = FileSystemStorage.save, []

    def save(self, name, content, max_length=None):
        calls.append(name)
        if len(calls) >= from_call:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, name, content, max_length=max_length)

    return mock.patch.object(FileSystemStorage, "save", save), calls


@pytest.mark.parametrize("from_call", [1, 4], ids=["writing-the-original", "writing-its-sizes"])
def test_a_storage_error_writing_the_new_picture_changes_nothing(
    editor_client, illustrated, media_files, make_image, from_call
):
    before, files = state(illustrated), media_files()
    assert len(files) > 1 and all(f.exists() for f in files)
    upload = SimpleUploadedFile("new.jpg", make_image("JPEG", (1200, 600)), content_type="image/jpeg")
    patch, calls = failing_storage(from_call)
    with patch:
        response = browser_post(editor_client, change_url(illustrated), title="After", image=upload)
    assert len(calls) == from_call  # it failed where intended, and nothing was tried after
    assert response.status_code == 200
    text = page_text(response)
    assert "The new picture could not be stored (No space left on device). Nothing was saved" in text
    assert 'value="After"' in response.content.decode()  # the editor's input is kept
    assert state(illustrated) == before
    assert media_files() == files  # the old picture and its sizes are there, nothing new is left over
    assert not Version.objects.get_for_object(illustrated).exists()
    # Storage back: the same story saves.
    retry = SimpleUploadedFile("new.jpg", make_image("JPEG", (1200, 600)), content_type="image/jpeg")
    assert browser_post(editor_client, change_url(illustrated), title="After", image=retry).status_code == 302
    article = Article.objects.get(pk=illustrated.pk)
    assert article.title == "After" and article.image.name != before[1]


def test_a_storage_error_on_a_new_story_saves_nothing(editor_client, media_files, make_image):
    upload = SimpleUploadedFile("lead.jpg", make_image("JPEG", (1200, 600)), content_type="image/jpeg")
    patch, _calls = failing_storage(3)
    with patch:
        response = browser_post(
            editor_client, ADD, **story(image=upload, image_alt="A harbour", image_credit="example.org")
        )
    assert response.status_code == 200
    assert "The new picture could not be stored" in page_text(response)
    assert not Article.objects.exists()
    assert media_files() == []
