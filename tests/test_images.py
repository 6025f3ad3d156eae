import io
import struct
import zlib
from unittest import mock

import pytest
from PIL import Image, ImageOps

from articles.images import ImageRejected, clean_upload
from tests.pictures import OUT_OF_BOUNDS, decoding, out_of_bounds, picture


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


def png_header_only(width, height, *, color_type=2):
    """A PNG whose header claims width x height pixels (RGB, or RGBA with color_type=6), with (almost)
    no pixel data behind it."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
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
    clean = clean_upload(io.BytesIO(make_image("PNG", (600, 300))), name_hint="logo.png", shrink_to=256)
    assert (clean.width, clean.height) == (256, 128)
    assert decoded(clean).size == (256, 128)


# --- Bounds read from the header, before a pixel is decoded ----------------------------------------


@pytest.mark.parametrize("case", list(OUT_OF_BOUNDS))
def test_a_side_webp_cannot_store_is_refused_before_decoding(case):
    data, message = out_of_bounds(case)
    with decoding() as decoded_sizes, pytest.raises(ImageRejected) as excinfo:
        clean_upload(io.BytesIO(data), name_hint="strip")
    assert str(excinfo.value) == message
    assert decoded_sizes == []


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((12_000, 1000), "The picture is 12000×1000 pixels, 12.0 times as wide as it is tall; "),
        ((1000, 10_500), "The picture is 1000×10500 pixels, 10.5 times as tall as it is wide; "),
    ],
    ids=["wide", "tall"],
)
def test_a_strip_past_the_aspect_cap_is_refused_before_decoding(size, message):
    with decoding() as decoded_sizes, pytest.raises(ImageRejected) as excinfo:
        clean_upload(io.BytesIO(picture("L", size)), name_hint="strip")
    assert str(excinfo.value) == message + "the longest side may be at most 10 times the shortest."
    assert decoded_sizes == []


def test_the_side_and_aspect_caps_are_the_settings(settings):
    settings.NEWSAPP_MAX_IMAGE_SIDE = 99
    with pytest.raises(ImageRejected, match=r"100×30 pixels; the longest side may be at most 99 px\."):
        clean_upload(io.BytesIO(picture(size=(100, 30))))
    settings.NEWSAPP_MAX_IMAGE_SIDE = 100
    assert clean_upload(io.BytesIO(picture(size=(100, 30)))).width == 100
    settings.NEWSAPP_MAX_IMAGE_ASPECT = 3
    with pytest.raises(ImageRejected, match=r"3\.3 times as wide .* at most 3 times the shortest\."):
        clean_upload(io.BytesIO(picture(size=(100, 30))))
    settings.NEWSAPP_MAX_IMAGE_ASPECT = 3.4
    assert clean_upload(io.BytesIO(picture(size=(100, 30)))).height == 30
    assert clean_upload(io.BytesIO(picture(size=(30, 100)))).height == 100


@pytest.mark.parametrize(
    ("mode", "fmt", "per_pixel"),
    [
        ("L", "PNG", 1),
        ("I;16", "PNG", 2),
        ("RGB", "JPEG", 3),
        ("RGBA", "PNG", 4),
        ("CMYK", "JPEG", 4),
        ("P", "PNG", 4),
    ],
    ids=["grey", "16-bit-grey", "rgb", "rgba", "cmyk", "palette-expanded-to-rgba"],
)
def test_the_decoding_budget_counts_bands_and_bytes_per_sample_from_the_header(
    settings, mode, fmt, per_pixel
):
    data = picture(mode, (2000, 1000), fmt)
    settings.NEWSAPP_MAX_IMAGE_DECODE_BYTES = 2000 * 1000 * per_pixel // 2
    with decoding() as decoded_sizes, pytest.raises(ImageRejected) as excinfo:
        clean_upload(io.BytesIO(data))
    assert str(excinfo.value) == (
        f"The picture is 2000×1000 pixels of {per_pixel} bytes each; decoding it would take "
        f"{2 * per_pixel}.0 MB of memory, and the limit is {per_pixel}.0 MB."
    )
    assert decoded_sizes == []
    settings.NEWSAPP_MAX_IMAGE_DECODE_BYTES = 2000 * 1000 * per_pixel
    with decoding() as decoded_sizes:
        assert clean_upload(io.BytesIO(data)).width == 2000
    assert set(decoded_sizes) == {(2000, 1000)}  # decoded once it was within the budget


def test_the_default_decoding_budget_takes_a_40_megapixel_photo_but_not_a_transparent_one():
    # Headers alone: everything judged here is read before any pixel.
    with decoding() as decoded_sizes, pytest.raises(ImageRejected) as excinfo:
        clean_upload(io.BytesIO(png_header_only(7300, 5470, color_type=6)))  # RGBA
    assert "7300×5470 pixels of 4 bytes each; decoding it would take 160 MB" in str(excinfo.value)
    assert "the limit is 128 MB" in str(excinfo.value)
    assert decoded_sizes == []
    with decoding() as decoded_sizes, pytest.raises(ImageRejected, match="not a picture we can read"):
        clean_upload(io.BytesIO(png_header_only(7300, 5470)))  # RGB, 120 MB: decoded, found truncated
    assert set(decoded_sizes) == {(7300, 5470)}


def test_a_picture_that_decodes_but_cannot_be_processed_is_refused_with_the_reason(make_image):
    broken = mock.patch.object(ImageOps, "exif_transpose", side_effect=SyntaxError("broken EXIF block"))
    with broken, pytest.raises(ImageRejected, match=r"could not be processed \(broken EXIF block\)"):
        clean_upload(io.BytesIO(make_image("JPEG", (20, 10))))
