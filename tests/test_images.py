import io
import struct
import zlib

import pytest
from PIL import Image

from articles.images import ImageRejected, clean_upload


def decoded(clean):
    return Image.open(io.BytesIO(clean.content.read()))


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_accepts_jpeg_png_and_webp(make_image, fmt, suffix):
    clean = clean_upload(io.BytesIO(make_image(fmt, (30, 20))), name_hint="holiday photo.bin")
    assert (clean.format, clean.width, clean.height) == (fmt, 30, 20)
    assert clean.content.name == f"holiday photo{suffix}"
    img = decoded(clean)
    assert (img.format, img.size) == (fmt, (30, 20))


def test_format_comes_from_the_content_not_the_name(make_image):
    clean = clean_upload(io.BytesIO(make_image("PNG")), name_hint="picture.jpg")
    assert clean.format == "PNG"
    assert clean.content.name == "picture.png"


def png_header_only(width, height):
    """A PNG whose header claims width x height pixels, with (almost) no pixel data behind it."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param("gif", "GIF images are not accepted", id="gif"),
        pytest.param(b"just some text, honestly\n" * 10, "not a picture we can read", id="text-as-jpg"),
        pytest.param(b"", "The file is empty", id="empty"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\0" * 40, "not a picture we can read", id="truncated-jpeg"),
        pytest.param(png_header_only(100_000, 100_000), "too large", id="decompression-bomb"),
        pytest.param(png_header_only(8000, 6000), "8000×6000 pixels", id="over-40-megapixels"),
    ],
)
def test_rejects_what_is_not_an_acceptable_picture(make_image, data, message):
    data = make_image("GIF") if data == "gif" else data
    with pytest.raises(ImageRejected, match=message):
        clean_upload(io.BytesIO(data), name_hint="photo.jpg")


def test_rejects_a_picture_over_the_pixel_cap(settings, make_image):
    settings.NEWSAPP_MAX_IMAGE_PIXELS = 199
    with pytest.raises(ImageRejected, match="20×10 pixels"):
        clean_upload(io.BytesIO(make_image("JPEG", (20, 10))), name_hint="photo.jpg")
    settings.NEWSAPP_MAX_IMAGE_PIXELS = 200
    assert clean_upload(io.BytesIO(make_image("JPEG", (20, 10))), name_hint="photo.jpg").width == 20


def test_rejects_a_file_over_the_byte_cap(settings, make_image):
    data = make_image("PNG", (50, 50))
    settings.NEWSAPP_MAX_UPLOAD_BYTES = len(data) - 1
    with pytest.raises(ImageRejected, match="the limit is"):
        clean_upload(io.BytesIO(data), name_hint="photo.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_strips_exif_and_gps(make_image, fmt):
    original = make_image(fmt, (20, 10), gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "the fixture must carry GPS"
    data = clean_upload(io.BytesIO(original), name_hint="photo").content.read()
    img = Image.open(io.BytesIO(data))
    assert not img.getexif()
    assert "exif" not in img.info
    assert b"Exif" not in data
    assert b"TestCam" not in data


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_applies_exif_orientation_to_the_pixels(make_image, fmt):
    clean = clean_upload(io.BytesIO(make_image(fmt, (20, 10), orientation=6)), name_hint="photo")
    assert (clean.width, clean.height) == (10, 20)
    img = decoded(clean)
    assert img.size == (10, 20)
    assert not img.getexif()


def test_logo_is_shrunk_to_its_maximum_side(make_image):
    clean = clean_upload(io.BytesIO(make_image("PNG", (600, 300))), name_hint="logo.png", max_side=256)
    assert (clean.width, clean.height) == (256, 128)
    assert decoded(clean).size == (256, 128)
