"""Images editors can trust, through the admin as a browser posts it: only real JPEG, PNG and WebP
pictures, no bombs, upright, without metadata, under random names; and a lead image needs a
description and a credit before its story goes live (form, bulk action, importer)."""

import copy
import io
import json
import re
import struct
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from articles.images import clean_upload
from articles.models import Article, Source
from tests.admin.test_admin import ADD, CHANGELIST, browser_post, story
from tests.factories import ArticleFactory, image_bytes
from tests.test_images import png_header_only

pytestmark = pytest.mark.django_db

SOURCE_ADD = reverse("admin:articles_source_add")
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.0N"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def outlet(**extra):
    return {
        "name": "Harbour Gazette",
        "slug": "harbour-gazette",
        "domain": "harbour.example",
        "homepage": "https://harbour.example/",
        "bias": "center",
    } | extra


def post_picture(client, kind, upload):
    """An upload through the article form (as the lead image) or the outlet form (as the logo)."""
    if kind == "lead image":
        return browser_post(client, ADD, **story(image=upload, image_alt="A picture", image_credit="Agency"))
    return browser_post(client, SOURCE_ADD, form_id="source_form", **outlet(logo=upload))


def stored(kind):
    """The saved picture's field file and the names of the files made from it."""
    if kind == "lead image":
        article = Article.objects.get()
        made = [e[ext] for e in article.renditions.values() for ext in ("jpg", "webp")]
        return article.image, made
    source = Source.objects.get()
    return source.logo, [source.logo_small[ext] for ext in ("png", "webp")]


def loaded_with_metadata(fmt, size=(40, 20)):
    """A picture carrying everything a camera or an editing program may leave in it."""
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Artist] = "Jane Photographer"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 0.0)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    options = {"exif": exif, "icc_profile": srgb, "xmp": XMP.encode()}
    if fmt == "JPEG":
        options["comment"] = b"shot at 12 Secret Street"
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "shot at 12 Secret Street")
        text.add_itxt("XML:com.adobe.xmp", XMP)  # where PNG keeps XMP
        options["pnginfo"] = text
    out = io.BytesIO()
    img.save(out, fmt, **options)
    data = out.getvalue()
    assert b"TestCam" in data and b"xmpmeta" in data, "the fixture must carry metadata"
    return data


def assert_pixels_only(storage, name):
    with storage.open(name, "rb") as fh:
        data = fh.read()
    img = Image.open(io.BytesIO(data))
    assert not img.getexif(), name
    assert not img.getexif().get_ifd(ExifTags.IFD.GPSInfo), name
    assert not {"exif", "xmp", "icc_profile", "comment", "Comment", "XML:com.adobe.xmp"} & set(img.info), (
        name,
        img.info,
    )
    for secret in (b"TestCam", b"Jane Photographer", b"xmpmeta", b"Secret Street", b"Exif\0\0"):
        assert secret not in data, (name, secret)


KINDS = ["lead image", "logo"]


# --- What is accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("animation.gif", "GIF", "GIF images are not accepted: upload a JPEG, PNG or WebP picture."),
        ("scan.bmp", "BMP", "BMP images are not accepted: upload a JPEG, PNG or WebP picture."),
        ("notes.jpg", b"Minutes of the meeting\n" * 20, "The file is not a picture we can read"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 40, "The file is not a picture we can read"),
        ("bomb.png", png_header_only(100_000, 100_000), "too large to process safely"),
        (
            "huge.png",
            png_header_only(9000, 6000),
            "The picture is 9000×6000 pixels; the limit is 40 megapixels.",
        ),
    ],
    ids=["gif", "bmp", "text-as-jpg", "truncated-jpeg", "decompression-bomb", "over-the-pixel-cap"],
)
def test_what_is_not_an_acceptable_picture_is_refused_clearly_and_nothing_is_kept(
    editor_client, media_files, kind, name, content, message
):
    data = image_bytes(content) if isinstance(content, str) else content
    response = post_picture(editor_client, kind, SimpleUploadedFile(name, data, content_type="image/jpeg"))
    assert response.status_code == 200
    html = response.content.decode()
    errors = re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    assert any(message in e for e in errors), errors
    assert not Article.objects.exists()
    assert not Source.objects.exists()
    assert media_files() == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_pixel_cap_is_the_setting(editor_client, settings, kind):
    settings.NEWSAPP_MAX_IMAGE_PIXELS = 799
    upload = SimpleUploadedFile("photo.jpg", image_bytes("JPEG", (40, 20)), content_type="image/jpeg")
    response = post_picture(editor_client, kind, upload)
    assert response.status_code == 200
    assert "The picture is 40×20 pixels; the limit is" in response.content.decode()
    settings.NEWSAPP_MAX_IMAGE_PIXELS = 800
    upload = SimpleUploadedFile("photo.jpg", image_bytes("JPEG", (40, 20)), content_type="image/jpeg")
    assert post_picture(editor_client, kind, upload).status_code == 302


def test_the_file_picker_offers_only_the_accepted_types(editor_client):
    for url in (ADD, SOURCE_ADD):
        html = editor_client.get(url).content.decode()
        assert 'accept="image/jpeg,image/png,image/webp"' in html


# --- What is stored ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_no_metadata_survives_in_the_stored_picture_or_anything_made_from_it(editor_client, kind, fmt):
    upload = SimpleUploadedFile("holiday.jpg", loaded_with_metadata(fmt), content_type="image/jpeg")
    assert post_picture(editor_client, kind, upload).status_code == 302
    original, made = stored(kind)
    assert made
    for name in [original.name, *made]:
        assert_pixels_only(original.storage, name)


def test_the_exif_orientation_is_applied_and_the_size_recorded_upright(editor_client):
    sideways = image_bytes("JPEG", (600, 300), orientation=6)  # the camera was turned: show it rotated
    upload = SimpleUploadedFile("portrait.jpg", sideways, content_type="image/jpeg")
    assert post_picture(editor_client, "lead image", upload).status_code == 302
    article = Article.objects.get()
    assert (article.image_width, article.image_height) == (300, 600)
    with article.image.open("rb") as fh:
        img = Image.open(fh)
        assert img.size == (300, 600)
        assert not img.getexif()
    for entry in article.renditions.values():
        with article.image.storage.open(entry["jpg"], "rb") as fh:
            assert Image.open(fh).size == (entry["w"], entry["h"])
        assert entry["h"] == 2 * entry["w"]


def test_an_oriented_logo_is_stored_upright(editor_client):
    upload = SimpleUploadedFile(
        "logo.jpg", image_bytes("JPEG", (60, 20), orientation=8), content_type="image/jpeg"
    )
    assert post_picture(editor_client, "logo", upload).status_code == 302
    source = Source.objects.get()
    assert (source.logo_width, source.logo_height) == (20, 60)


def swapped_profile() -> bytes:
    """A colour profile whose red and green primaries are swapped: a pixel stored as red means green."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", profile[128:132])
    entries = {bytes(profile[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, green = entries[b"rXYZ"], entries[b"gXYZ"]
    profile[red + 4 : red + 12], profile[green + 4 : green + 12] = (
        profile[green + 4 : green + 12],
        profile[red + 4 : red + 12],
    )
    return bytes(profile)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_colours_are_converted_to_srgb_before_the_profile_is_dropped(fmt):
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(out, fmt, icc_profile=swapped_profile())
    clean = clean_upload(io.BytesIO(out.getvalue()), name_hint="photo")
    img = Image.open(io.BytesIO(clean.content.read()))
    assert "icc_profile" not in img.info
    red, green, blue = img.convert("RGB").getpixel((10, 5))
    assert green > 150 and red < 80 and blue < 80, (red, green, blue)


def test_an_unreadable_colour_profile_is_dropped_with_the_pixels_kept():
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(out, "PNG", icc_profile=b"not a profile at all")
    img = Image.open(io.BytesIO(clean_upload(io.BytesIO(out.getvalue()), name_hint="photo").content.read()))
    assert "icc_profile" not in img.info
    assert img.getpixel((10, 5)) == (200, 30, 30)


def test_a_transparent_colour_key_becomes_an_alpha_channel():
    out = io.BytesIO()
    img = Image.new("RGB", (20, 10), (200, 30, 30))
    img.putpixel((0, 0), (1, 2, 3))
    img.save(out, "PNG", transparency=(1, 2, 3))
    clean = Image.open(io.BytesIO(clean_upload(io.BytesIO(out.getvalue()), name_hint="logo").content.read()))
    assert clean.mode == "RGBA"
    assert clean.getpixel((0, 0))[3] == 0 and clean.getpixel((5, 5)) == (200, 30, 30, 255)


NAME = re.compile(r"^(articles|logos)/\d{4}/\d{2}/[0-9a-f]{32}(_\w+)?\.(jpg|png|webp)$")


@pytest.mark.parametrize("kind", KINDS)
def test_pictures_are_stored_under_random_names_with_the_real_format(editor_client, media_files, kind):
    upload = SimpleUploadedFile(
        "Jane Doe passport scan.jpg", image_bytes("PNG", (40, 20)), content_type="image/jpeg"
    )
    assert post_picture(editor_client, kind, upload).status_code == 302
    original, made = stored(kind)
    assert NAME.match(original.name), original.name
    assert original.name.endswith(".png")  # a PNG, whatever its name said
    folder = "articles/" if kind == "lead image" else "logos/"
    assert original.name.startswith(folder)
    stem = original.name.rsplit(".", 1)[0]
    for name in made:
        assert NAME.match(name) and name.startswith(f"{stem}_"), name
    assert not [p for p in media_files() if "passport" in p.name.lower() or "jane" in p.name.lower()]


def test_the_same_name_uploaded_twice_is_stored_twice_under_different_names(editor_client):
    names = set()
    for n in range(2):
        upload = SimpleUploadedFile("lead.jpg", image_bytes("JPEG", (40, 20)), content_type="image/jpeg")
        fields = story(slug=f"talks-{n}", image=upload, image_alt="A picture", image_credit="Agency")
        assert browser_post(editor_client, ADD, **fields).status_code == 302
        names.add(Article.objects.get(slug=f"talks-{n}").image.name)
    assert len(names) == 2


# --- A description and a credit before publishing ------------------------------------------------

ALT_ERROR = "Describe the lead image before publishing, for readers who can&#x27;t see it."
CREDIT_ERROR = "Credit the lead image before publishing (readers see “Image from …”)."


def field_errors(html: str, field: str) -> list[str]:
    assert f'id="id_{field}"' in html, field
    errors = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", errors.group(1)) if errors else []


def picture():
    return SimpleUploadedFile("lead.jpg", image_bytes("JPEG", (40, 20)), content_type="image/jpeg")


@pytest.mark.parametrize("client_name", ["writer_client", "editor_client"])
def test_a_draft_may_keep_a_picture_without_description_or_credit(request, client_name):
    client = request.getfixturevalue(client_name)
    response = browser_post(client, ADD, **story(image=picture(), image_alt="", image_credit=""))
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get()
    assert article.status == "draft" and article.image


@pytest.mark.parametrize(
    "when",
    [{}, {"published_at_0": "2099-01-01", "published_at_1": "09:00:00"}],
    ids=["publish-now", "schedule"],
)
@pytest.mark.parametrize(
    ("alt", "credit", "errors"),
    [
        ("", "", {"image_alt": [ALT_ERROR], "image_credit": [CREDIT_ERROR]}),
        ("A pier", " ", {"image_credit": [CREDIT_ERROR]}),
    ],
    ids=["neither", "no-credit"],
)
def test_publishing_a_picture_without_description_or_credit_is_refused(
    editor_client, media_files, when, alt, credit, errors
):
    fields = story(image=picture(), image_alt=alt, image_credit=credit, status="published", **when)
    response = browser_post(editor_client, ADD, **fields)
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("image_alt", "image_credit"):
        assert field_errors(html, field) == errors.get(field, []), field
    assert not Article.objects.exists()
    assert media_files() == []


def test_a_story_without_a_picture_is_published_without_a_credit(editor_client):
    response = browser_post(editor_client, ADD, **story(status="published", image_credit=""))
    assert response.status_code == 302
    assert Article.objects.get().is_published()


def test_publishing_a_saved_draft_asks_for_what_its_picture_lacks(editor_client):
    draft = ArticleFactory(draft=True, with_image=True, image_alt="", image_credit="")
    url = reverse("admin:articles_article_change", args=[draft.pk])
    response = browser_post(editor_client, url, status="published")
    assert response.status_code == 200
    html = response.content.decode()
    assert field_errors(html, "image_alt") == [ALT_ERROR]
    assert field_errors(html, "image_credit") == [CREDIT_ERROR]
    draft.refresh_from_db()
    assert draft.status == "draft"
    response = browser_post(editor_client, url, status="published", image_alt="A pier", image_credit="Agency")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published()


def test_a_live_story_cannot_lose_its_credit(editor_client):
    live = ArticleFactory(with_image=True)
    url = reverse("admin:articles_article_change", args=[live.pk])
    response = browser_post(editor_client, url, image_credit="")
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "image_credit") == [CREDIT_ERROR]
    live.refresh_from_db()
    assert live.image_credit == "example.org"


def test_bulk_publish_skips_the_stories_whose_picture_lacks_a_description_or_credit(editor_client, client):
    ready = ArticleFactory(draft=True, title="No picture at all")
    pictured = ArticleFactory(draft=True, title="Pictured and credited", with_image=True)
    no_credit = ArticleFactory(draft=True, title="Harbour at dawn", with_image=True, image_credit="")
    bare = ArticleFactory(draft=True, title="Pier", with_image=True, image_alt=" ", image_credit="")
    pks = [a.pk for a in (ready, pictured, no_credit, bare)]
    response = editor_client.post(
        CHANGELIST, {"action": "publish_selected", "_selected_action": pks, "index": "0"}
    )
    assert response.status_code == 302
    shown = [str(m) for m in editor_client.get(CHANGELIST).context["messages"]]
    assert "Published 2 stories." in shown
    assert (
        "2 stories were not published: “Harbour at dawn” (its lead image needs a credit); "
        "“Pier” (its lead image needs a description and a credit). "
        "Fill these in on each story's page, then publish again."
    ) in shown
    assert set(Article.objects.published().values_list("title", flat=True)) == {
        "No picture at all",
        "Pictured and credited",
    }
    assert set(Article.objects.filter(status="draft").values_list("title", flat=True)) == {
        "Harbour at dawn",
        "Pier",
    }
    assert client.get(no_credit.get_absolute_url()).status_code == 404


def test_bulk_publish_of_one_story_that_is_not_ready_says_so(editor_client):
    draft = ArticleFactory(draft=True, title="Pier", with_image=True, image_credit="")
    editor_client.post(
        CHANGELIST, {"action": "publish_selected", "_selected_action": [draft.pk], "index": "0"}
    )
    shown = [str(m) for m in editor_client.get(CHANGELIST).context["messages"]]
    assert shown == [
        "No story was published.",
        "1 story was not published: “Pier” (its lead image needs a credit). "
        "Fill these in on each story's page, then publish again.",
    ]


# --- The importer applies the same rule ----------------------------------------------------------

IMPORT = {
    "sources": [],
    "articles": [
        {
            "title": "Harbour at dawn",
            "slug": "harbour-at-dawn",
            "section": "world",
            "status": "published",
            "published_at": "2026-01-01T09:00:00Z",
            "summary": "Boats.",
            "image": "lead.jpg",
            "image_alt": "Boats at a pier",
            "image_credit": "Agency",
        }
    ],
}


def run_import(tmp_path, document):
    (tmp_path / "lead.jpg").write_bytes(image_bytes("JPEG", (40, 20)))
    path = tmp_path / "import.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    call_command("import_articles", str(path), verbosity=0)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"image_credit": ""}, ["field 'image_credit': Credit the lead image before publishing"]),
        (
            {"image_alt": "", "image_credit": ""},
            ["field 'image_alt': Describe the lead image", "field 'image_credit': Credit the lead image"],
        ),
    ],
    ids=["no-credit", "neither"],
)
def test_the_importer_refuses_a_published_story_whose_picture_lacks_them(
    tmp_path, media_files, changes, expected
):
    document = copy.deepcopy(IMPORT)
    document["articles"][0].update(changes)
    with pytest.raises(CommandError) as excinfo:
        run_import(tmp_path, document)
    for part in expected:
        assert f'articles[0] "Harbour at dawn": {part}' in str(excinfo.value)
    assert not Article.objects.exists()
    assert media_files() == []


def test_the_importer_takes_drafts_with_a_bare_picture_and_published_stories_without_one(tmp_path):
    document = copy.deepcopy(IMPORT)
    document["articles"][0] |= {"status": "draft", "image_alt": "", "image_credit": ""}
    document["articles"].append(
        {
            "title": "Words only",
            "section": "world",
            "status": "published",
            "published_at": "2026-01-01T10:00:00Z",
            "summary": "No picture.",
        }
    )
    run_import(tmp_path, document)
    assert Article.objects.get(slug="harbour-at-dawn").status == "draft"
    assert Article.objects.get(title="Words only").is_published()


def test_the_importer_counts_the_picture_a_stored_story_already_has(tmp_path):
    ArticleFactory(
        slug="harbour-at-dawn",
        draft=True,
        image=ContentFile(image_bytes("JPEG", (40, 20)), name="lead.jpg"),
        image_alt="Boats",
        published_at=timezone.now() - timedelta(days=1),
    )
    document = copy.deepcopy(IMPORT)
    for key in ("image", "image_credit"):
        del document["articles"][0][key]
    with pytest.raises(CommandError, match="field 'image_credit'"):
        run_import(tmp_path, document)
    assert Article.objects.get().status == "draft"


def test_the_form_says_when_description_and_credit_are_needed(writer_client):
    html = writer_client.get(ADD).content.decode()
    assert html.count("Needed to publish a story with a picture; a draft may leave it empty.") == 2
