"""Pictures within bounds, through the admin as a browser posts it (issue 10, point 3).

A lead image or a logo whose side WebP cannot store, whose shape is a sliver, or whose decoding would
take too much memory is refused from its header, with the numbers, before a pixel is decoded; and a
save whose new picture cannot be stored or made into sizes leaves the rows and MEDIA_ROOT as they were,
with the reason on the form, never a server error."""

import re
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from reversion.models import Version

from articles import images
from articles.models import Article, Source
from tests.admin.test_admin import browser_post
from tests.admin.test_image_rules import KINDS, post_picture
from tests.factories import ArticleFactory, SourceFactory
from tests.newsroom.test_locking import failing_storage, page_text
from tests.pictures import OUT_OF_BOUNDS, decoding, out_of_bounds, picture

pytestmark = pytest.mark.django_db

WEBP_FAILURE = "encoding error 5: Image size exceeds WebP limit of 16383 pixels"


def upload(data: bytes, name="picture.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def field_errors(response) -> list[str]:
    """The text of every error the form shows."""
    html = response.content.decode()
    lists = re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    return [
        " ".join(item.split()) for errors in lists for item in re.findall(r"<li>(.*?)</li>", errors, re.S)
    ]


def all_rows():
    return (
        list(Article.objects.order_by("pk").values()),
        list(Source.objects.order_by("pk").values()),
        Version.objects.count(),
    )


@pytest.fixture
def illustrated(db):
    """A story and an outlet that already have a picture, which a failed save must leave in place."""
    return ArticleFactory(with_image=True, draft=True, title="Before"), SourceFactory(with_logo=True)


def change_picture(client, kind, illustrated, data):
    article, source = illustrated
    if kind == "lead image":
        url = reverse("admin:articles_article_change", args=[article.pk])
        return browser_post(client, url, title="After", image=upload(data))
    url = reverse("admin:articles_source_change", args=[source.pk])
    return browser_post(client, url, form_id="source_form", name="After", logo=upload(data))


# --- Refused from the header ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(OUT_OF_BOUNDS))
def test_a_picture_whose_side_webp_cannot_store_is_refused_on_the_form_before_decoding(
    editor_client, media_files, kind, case
):
    data, message = out_of_bounds(case)
    with decoding() as decoded_sizes:
        response = post_picture(editor_client, kind, upload(data))
    assert response.status_code == 200
    assert message in field_errors(response)
    assert decoded_sizes == []
    assert not Article.objects.exists() and not Source.objects.exists()
    assert media_files() == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_picture_out_of_bounds_leaves_the_current_one_and_the_rows_as_they_were(
    editor_client, media_files, illustrated, kind
):
    before, files = all_rows(), media_files()
    data, message = out_of_bounds("png-800x20000")
    response = change_picture(editor_client, kind, illustrated, data)
    assert response.status_code == 200
    assert message in field_errors(response)
    assert all_rows() == before
    assert media_files() == files


@pytest.mark.parametrize("kind", KINDS)
def test_a_sliver_and_a_picture_over_the_decoding_budget_are_refused_on_the_form(
    editor_client, settings, media_files, kind
):
    with decoding() as decoded_sizes:
        response = post_picture(editor_client, kind, upload(picture("L", (12_000, 1000))))
    assert (
        "The picture is 12000×1000 pixels, 12.0 times as wide as it is tall; "
        "the longest side may be at most 10 times the shortest."
    ) in field_errors(response)
    settings.NEWSAPP_MAX_IMAGE_DECODE_BYTES = 1_000_000
    with decoding() as more_decoded:
        response = post_picture(editor_client, kind, upload(picture("RGBA", (600, 500))))
    assert (
        "The picture is 600×500 pixels of 4 bytes each; decoding it would take 1.2 MB of memory, "
        "and the limit is 1.0 MB."
    ) in field_errors(response)
    assert decoded_sizes == more_decoded == []
    assert media_files() == []
    # Within the budget, the same size is taken.
    assert post_picture(editor_client, kind, upload(picture("L", (600, 500)))).status_code == 302


# --- A save that fails half-way leaves nothing behind ----------------------------------------------------


def test_sizes_webp_cannot_store_fail_the_save_cleanly_even_without_the_side_cap(
    editor_client, settings, media_files, illustrated
):
    """With the cap lifted (as it was before issue 10), the real WebP encoder refuses a rendition
    half-way through the set: the editor reads why, and nothing of the save is left."""
    settings.NEWSAPP_MAX_IMAGE_SIDE, settings.NEWSAPP_MAX_IMAGE_ASPECT = 30_000, 100
    before, files = all_rows(), media_files()
    data, _message = out_of_bounds("png-800x20000")
    response = change_picture(editor_client, "lead image", illustrated, data)
    assert response.status_code == 200
    expected = (
        f"The sizes readers see could not be made of the new picture ({WEBP_FAILURE}). Nothing was "
        "saved: the story, its sources and its current picture are as they were."
    )
    assert any(e.startswith(expected) for e in field_errors(response)), field_errors(response)
    assert 'value="After"' in response.content.decode()  # the editor's input is kept
    assert all_rows() == before
    assert media_files() == files


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_any_error_making_the_sizes_saves_nothing_and_leaves_no_file(
    editor_client, media_files, illustrated, kind, existing
):
    before, files = all_rows(), media_files()
    failing = mock.patch.object(images, "_open_stored", side_effect=MemoryError)
    with failing:
        if existing:
            response = change_picture(editor_client, kind, illustrated, picture(size=(300, 200)))
        else:
            response = post_picture(editor_client, kind, upload(picture(size=(300, 200))))
    assert response.status_code == 200
    kept = "the story, its sources and its current picture" if kind == "lead image" else "the outlet"
    text = page_text(response)
    assert (
        "The sizes readers see could not be made of the new picture (MemoryError). Nothing was saved" in text
    )
    assert kept in text
    assert all_rows() == before
    assert media_files() == files


@pytest.mark.parametrize("from_call", [1, 2], ids=["writing-the-original", "writing-its-sizes"])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_a_storage_error_writing_a_logo_saves_nothing_and_leaves_no_file(
    editor_client, media_files, illustrated, from_call, existing
):
    before, files = all_rows(), media_files()
    patch, calls = failing_storage(from_call)
    with patch:
        if existing:
            response = change_picture(editor_client, "logo", illustrated, picture(size=(300, 200)))
        else:
            response = post_picture(editor_client, "logo", upload(picture(size=(300, 200))))
    assert len(calls) == from_call
    assert response.status_code == 200
    assert (
        "The new picture could not be stored (No space left on device). Nothing was saved: the outlet and "
        "its current logo are as they were."
    ) in page_text(response)
    assert all_rows() == before
    assert media_files() == files
    # Storage back: the same outlet saves.
    again = change_picture if existing else (lambda c, k, _i, d: post_picture(c, k, upload(d)))
    assert again(editor_client, "logo", illustrated, picture(size=(300, 200))).status_code == 302
