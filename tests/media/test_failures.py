"""A bucket that is missing, down or failing half-way: the editor gets a form error, never a 500, and
nothing is half-saved (no row, no stray object); a story's text is still saved while the bucket is
away. Replacing or removing a picture keeps and removes the same files as local storage does."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from articles.models import Article, Source
from newsapp.media_bucket import BucketStorage
from tests.admin.test_admin import ADD, browser_post, story
from tests.media.conftest import use_bucket
from tests.media.test_pages import add_outlet, add_story, lead_image, logo_names, stored_names

pytestmark = pytest.mark.django_db

NOT_STORED = "The new picture could not be stored (the media bucket"


def every(method=None, after=0, how="drop"):
    """A failure for the proxy: `how` for each request (of `method`, if given) after the first `after`."""
    count = {"n": 0}

    def fail(seen_method, path):
        if method and seen_method != method:
            return None
        count["n"] += 1
        return how if count["n"] > after else None

    return fail


def form_error(response) -> str:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "errornote" in html or "errorlist" in html
    return html


@pytest.mark.parametrize("how", ["drop", "unavailable"])
def test_a_bucket_that_is_down_at_upload_is_a_form_error_and_nothing_is_saved(bucket, editor_client, how):
    bucket.server.proxy.fail = every(how=how)

    response = browser_post(
        editor_client, ADD, **story(image=lead_image(), image_alt="A pier", image_credit="Agency")
    )

    html = form_error(response)
    assert NOT_STORED in html and "Nothing was saved" in html
    assert not Article.objects.exists()
    bucket.server.proxy.fail = None
    assert bucket.keys() == set()


def test_a_missing_bucket_is_a_form_error_that_names_it(bucket, editor_client, settings):
    use_bucket(settings, bucket.setting.replace(bucket.name, "no-such-bucket"), max_attempts=1)

    response = browser_post(
        editor_client, ADD, **story(image=lead_image(), image_alt="A pier", image_credit="A")
    )

    html = form_error(response)
    assert "The new picture could not be stored (the media bucket no-such-bucket: NoSuchBucket" in html
    assert not Article.objects.exists()


def test_a_logo_the_bucket_refuses_is_a_form_error_on_the_logo(bucket, editor_client):
    bucket.server.proxy.fail = every(how="unavailable")

    response = browser_post(
        editor_client,
        reverse("admin:articles_source_add"),
        form_id="source_form",
        name="Harbour Gazette",
        slug="harbour-gazette",
        domain="harbour.example",
        homepage="https://harbour.example/",
        logo=lead_image("gazette.jpg", (300, 150)),
    )

    html = form_error(response)
    assert NOT_STORED in html and "ServiceUnavailable" in html
    assert not Source.objects.exists()


def test_a_failure_half_way_through_the_sizes_removes_what_was_written_and_keeps_the_old_picture(
    bucket, editor_client
):
    article = add_story(editor_client)
    before = bucket.keys()
    bucket.server.proxy.fail = every("PUT", after=4, how="unavailable")  # the new original and 3 sizes

    change = reverse("admin:articles_article_change", args=[article.pk])
    response = browser_post(
        editor_client, change, image=lead_image("new.jpg", color=(200, 200, 0)), title="New"
    )

    assert NOT_STORED in form_error(response)
    bucket.server.proxy.fail = None
    assert sum(seen.method == "PUT" for seen in bucket.seen) > 4  # it did fail half-way
    assert bucket.keys() == before  # the new picture's files removed, the old one's untouched
    kept = Article.objects.get()
    assert (kept.title, kept.image.name, kept.renditions) == (
        article.title,
        article.image.name,
        article.renditions,
    )


def test_a_story_s_text_is_saved_while_the_bucket_is_down(bucket, editor_client):
    article = add_story(editor_client)
    bucket.forget()
    bucket.server.proxy.fail = every(how="drop")

    change = reverse("admin:articles_article_change", args=[article.pk])
    assert browser_post(editor_client, change, title="Talks resume at dawn").status_code == 302

    assert bucket.seen == []
    assert Article.objects.get().title == "Talks resume at dawn"


def test_the_storage_s_failures_are_oserrors(bucket):
    """What the callers (admin, importer, newsdesk, export) catch, as they do for a full disk."""
    default_storage.exists("warm-up")
    assert isinstance(default_storage._wrapped, BucketStorage)
    bucket.server.proxy.fail = every(how="drop")
    for call in (
        lambda: default_storage.save("a.txt", lead_image()),
        lambda: default_storage.open("a.txt"),
        lambda: default_storage.exists("a.txt"),
        lambda: default_storage.size("a.txt"),
        lambda: default_storage.delete("a.txt"),
        lambda: default_storage.listdir(""),
    ):
        with pytest.raises(OSError, match=f"the media bucket {bucket.name}: "):
            call()
    bucket.server.proxy.fail = None
    with pytest.raises(FileNotFoundError):
        default_storage.open("never-written.jpg")
    assert default_storage.url("a b/é.jpg").endswith(f"/{bucket.name}/a%20b/%C3%A9.jpg")


# --- Replacing and removing pictures: the same files kept as on local storage ----------------------


@pytest.fixture(params=["local files", "bucket"])
def storage(request, settings, media_files):
    """(the storage's kind, every name stored now)."""
    if request.param == "local files":
        root = settings.MEDIA_ROOT
        return lambda: {path.relative_to(root).as_posix() for path in media_files()}
    bucket = request.getfixturevalue("bucket")
    return bucket.keys


def test_replacing_clearing_and_deleting_keep_the_same_files_as_local_storage(storage, editor_client):
    first = add_story(editor_client)
    first_names = stored_names(first)
    assert storage() == first_names
    change = reverse("admin:articles_article_change", args=[first.pk])

    assert (
        browser_post(editor_client, change, image=lead_image("second.jpg", color=(0, 0, 0))).status_code
        == 302
    )
    second = Article.objects.get()
    # Kept: an earlier revision may bring the first picture back (articles.newsroom.revisions).
    assert storage() == first_names | stored_names(second)

    cleared = browser_post(editor_client, change, status="draft", image__clear="on")
    assert cleared.status_code == 302 and not Article.objects.get().image
    assert storage() == first_names | stored_names(second)

    delete = reverse("admin:articles_article_delete", args=[first.pk])
    assert editor_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Article.objects.exists()
    assert storage() == first_names | stored_names(second)


def test_a_logo_replaced_keeps_the_old_one_as_on_local_storage(storage, editor_client):
    source = add_outlet(editor_client)
    old = logo_names(source)
    change = reverse("admin:articles_source_change", args=[source.pk])

    response = browser_post(
        editor_client, change, form_id="source_form", logo=lead_image("new.jpg", (200, 200))
    )

    assert response.status_code == 302
    assert storage() == old | logo_names(Source.objects.get())
