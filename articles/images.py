"""Images: uploads decoded and re-encoded (never trusted by name), renditions made once at save time.

What an upload goes through (clean_upload): only JPEG, PNG and WebP are accepted, judged by decoding
the file, never by its name or its declared type; files over the byte cap, pictures over the pixel
cap, the longest-side cap or the aspect-ratio cap, pictures whose decoded pixels would take more
memory than the decoding budget, and decompression bombs are refused with a message fit for the
editor, all from the file's header before a pixel is decoded; the EXIF orientation is
applied to the pixels; colours described by an embedded ICC profile are converted to sRGB (what
browsers assume for an untagged picture); then the pixels alone are re-encoded, so no EXIF (GPS),
XMP, comment, text chunk or colour profile survives. Stored names are random (models._unguessable).

A page view never resizes anything: templates read the rendition names and sizes stored on the
article (`Article.renditions`).
"""

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageCms, ImageMode, ImageOps, UnidentifiedImageError

FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
RENDITION_WIDTHS = (480, 960, 1440)
THUMB_WIDTH = 160
LOGO_MAX = 256
LOGO_SMALL = 64
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRejected(ValueError):
    """An upload that is not an image we accept; the message is fit to show the editor."""


class RenditionFailed(Exception):
    """The sizes of a stored picture could not be made (an encoder's limit, memory); none of them is
    left in storage. The message is fit to show the editor."""


@dataclass(frozen=True)
class CleanImage:
    content: ContentFile
    width: int
    height: int
    format: str


def _limits() -> dict:
    return {
        "max_bytes": settings.NEWSAPP_MAX_UPLOAD_BYTES,
        "max_pixels": settings.NEWSAPP_MAX_IMAGE_PIXELS,
        "max_side": settings.NEWSAPP_MAX_IMAGE_SIDE,
        "max_aspect": settings.NEWSAPP_MAX_IMAGE_ASPECT,
        "max_decode_bytes": settings.NEWSAPP_MAX_IMAGE_DECODE_BYTES,
    }


def decode_bytes(img: Image.Image) -> int:
    """The memory the picture's pixels take once decoded: width x height x bands x bytes per sample,
    all read from the header. A palette picture counts as RGBA, which is what it is expanded to."""
    mode = ImageMode.getmode("RGBA" if img.mode in ("P", "PA") else img.mode)
    return img.width * img.height * len(mode.bands) * int(mode.typestr[-1])


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 10e6 else f"{n / 1e6:.1f} MB"


def _bounds_problem(img: Image.Image, *, max_pixels, max_side, max_aspect, max_decode_bytes) -> str | None:
    """Why the picture's size is refused, judged from its header alone; None when it is within bounds.

    Besides the pixel cap: every size is also written as WebP, which stores at most 16,383 pixels a
    side; a sliver (39,000,000 x 1 pixels fits in 38 KB) costs minutes and gigabytes to resize; and the
    decoding budget bounds the memory, and so the time, that decoding one upload takes."""
    width, height = img.size
    size = f"The picture is {width}×{height} pixels"
    if width < 1 or height < 1:
        return f"{size}: there is nothing to show."
    if width * height > max_pixels:
        return f"{size}; the limit is {max_pixels / 1e6:.0f} megapixels."
    if max(width, height) > max_side:
        return f"{size}; the longest side may be at most {max_side} px."
    if max(width, height) > max_aspect * min(width, height):
        wide, narrow = ("wide", "tall") if width > height else ("tall", "wide")
        ratio = max(width, height) / min(width, height)
        return (
            f"{size}, {ratio:.1f} times as {wide} as it is {narrow}; "
            f"the longest side may be at most {max_aspect:g} times the shortest."
        )
    needed = decode_bytes(img)
    if needed > max_decode_bytes:
        return (
            f"{size} of {needed // (width * height)} bytes each; decoding it would take "
            f"{_megabytes(needed)} of memory, and the limit is {_megabytes(max_decode_bytes)}."
        )
    return None


def _open_checked(
    fileobj, *, max_bytes, max_pixels, max_side, max_aspect, max_decode_bytes, decode: bool = True
) -> Image.Image:
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(0)
    if size == 0:
        raise ImageRejected("The file is empty.")
    if size > max_bytes:
        raise ImageRejected(f"The file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fileobj)
            if img.format not in FORMATS:
                raise ImageRejected(
                    f"{img.format or 'This'} images are not accepted: upload a JPEG, PNG or WebP picture."
                )
            problem = _bounds_problem(
                img,
                max_pixels=max_pixels,
                max_side=max_side,
                max_aspect=max_aspect,
                max_decode_bytes=max_decode_bytes,
            )
            if problem:
                raise ImageRejected(problem)
            if decode:
                img.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            "The picture is too large to process safely (far more pixels than a photo has); "
            f"the limit is {max_pixels / 1e6:.0f} megapixels."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(
            "The file is not a picture we can read: upload a JPEG, PNG or WebP image."
        ) from exc
    return img


def check_upload(fileobj) -> None:
    """The checks of clean_upload that need no decoding (size, format, pixel, side, aspect and memory
    caps, decompression bomb).

    Cheap enough for a form field to run before anything else, so the editor sees these messages
    rather than a generic "not a valid image". Leaves the file at its start.
    """
    try:
        _open_checked(fileobj, **_limits(), decode=False)
    finally:
        fileobj.seek(0)


def _to_srgb(img: Image.Image) -> Image.Image:
    """Pixels described by an embedded ICC profile (a phone's Display P3, Adobe RGB, a CMYK press
    profile) converted to sRGB, so they keep their colours once the profile is stripped."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(
            img, profile, _SRGB, outputMode="RGBA" if img.mode == "RGBA" else "RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img  # a profile we cannot read: keep the pixels as they are


def _pixels_only(img: Image.Image) -> Image.Image:
    """The picture without any metadata: Pillow writes back what is left in `info` (a JPEG comment,
    a PNG colour profile), so nothing is left there. A transparent colour key becomes an alpha channel."""
    if "transparency" in img.info and img.mode in ("L", "RGB"):
        img = img.convert("LA" if img.mode == "L" else "RGBA")
    img.info = {}
    return img


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(out, "JPEG", quality=86, optimize=True, progressive=True)
    elif fmt == "WEBP":
        img.save(out, "WEBP", quality=82, method=4)
    else:
        img.save(out, "PNG", optimize=True)
    return out.getvalue()


def clean_upload(fileobj, *, name_hint: str = "image", shrink_to: int | None = None) -> CleanImage:
    """Decode an uploaded image, check it, and re-encode its pixels alone (see the module's docstring);
    with `shrink_to`, a longer side is brought down to that many pixels (logos).

    EXIF orientation is applied to the pixels first so the picture stays the right way up.
    """
    img = _open_checked(fileobj, **_limits())
    fmt = img.format
    try:
        img = _to_srgb(ImageOps.exif_transpose(img))
        if img.mode not in ("RGB", "RGBA", "L", "LA"):
            img = img.convert("RGBA" if "transparency" in img.info or img.mode in ("P", "PA") else "RGB")
        img = _pixels_only(img)
        if fmt == "JPEG" and img.mode != "RGB":
            img = img.convert("RGB")
        if shrink_to and max(img.size) > shrink_to:
            img.thumbnail((shrink_to, shrink_to), Image.Resampling.LANCZOS)
        data = _encode(img, fmt)
    except Exception as exc:
        # Pixels that decoded can still fail here (a malformed EXIF block, an encoder's limit, memory):
        # that is the upload's problem, told to the editor, never a server error.
        raise ImageRejected(
            f"The picture could not be processed ({str(exc) or type(exc).__name__}): "
            "save it again as a JPEG or PNG and upload that."
        ) from exc
    stem = PurePosixPath(name_hint).stem or "image"
    return CleanImage(ContentFile(data, name=f"{stem}{FORMATS[fmt]}"), img.width, img.height, fmt)


def _open_stored(field_file) -> Image.Image:
    """An image we stored ourselves (already checked and re-encoded on upload), fully loaded."""
    field_file.open("rb")
    try:
        img = Image.open(field_file)
        img.load()
    finally:
        field_file.close()
    return _pixels_only(img)


@contextlib.contextmanager
def _all_or_nothing(storage):
    """The list of names written inside the block. On any failure they are deleted (a half-made set
    is never recorded anywhere: the caller's save fails with it) and the failure goes on: a storage
    error as the OSError it is, anything else (an encoder's limit, memory) as RenditionFailed."""
    written = []
    try:
        yield written
    except Exception as exc:
        for name in written:
            with contextlib.suppress(OSError):
                storage.delete(name)
        if isinstance(exc, OSError):
            raise
        raise RenditionFailed(str(exc) or type(exc).__name__) from exc


def make_renditions(field_file) -> dict:
    """Write the fixed set of renditions beside the original; return their names and sizes.

    Keyed by width ("thumb", "480", "960", "1440"); each has JPEG and WebP files. Widths larger than
    the original are not made (no upscaling); the original's own width then closes the set.
    """
    storage = field_file.storage
    stem = str(PurePosixPath(field_file.name).with_suffix(""))
    result = {}
    with _all_or_nothing(storage) as written:
        original = _open_stored(field_file)
        if original.mode not in ("RGB", "L"):
            background = Image.new("RGB", original.size, "white")
            background.paste(original.convert("RGBA"), mask=original.convert("RGBA").getchannel("A"))
            original = background
        widths = [w for w in RENDITION_WIDTHS if w < original.width] + [
            min(original.width, RENDITION_WIDTHS[-1])
        ]
        for key, width in [("thumb", min(THUMB_WIDTH, original.width))] + [
            (str(w), w) for w in sorted(set(widths))
        ]:
            height = max(1, round(original.height * width / original.width))
            resized = (
                original
                if width == original.width
                else original.resize((width, height), Image.Resampling.LANCZOS)
            )
            entry = {"w": width, "h": height}
            for fmt, ext in (("JPEG", "jpg"), ("WEBP", "webp")):
                data = _encode(resized, fmt)
                entry[ext] = _replace(storage, f"{stem}_{key}.{ext}", ContentFile(data))
                written.append(entry[ext])
                entry[f"{ext}_bytes"] = len(data)
            result[key] = entry
    return result


def _replace(storage, name: str, content) -> str:
    """Store a size under its own name. A file already there is a size of this same picture, made
    when it was current before (a restored revision brings an earlier picture back): replaced, not
    kept beside a copy under a random name, which nothing would ever remove."""
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, content)


def make_logo_rendition(field_file, size: int = LOGO_SMALL) -> dict:
    """A small logo (for 32 CSS pixels on high-density screens) as PNG and lossless WebP, with alpha."""
    storage = field_file.storage
    stem = str(PurePosixPath(field_file.name).with_suffix(""))
    with _all_or_nothing(storage) as written:
        logo = _open_stored(field_file).convert("RGBA")
        logo.thumbnail((size, size), Image.Resampling.LANCZOS)
        entry = {"w": logo.width, "h": logo.height}
        for fmt, ext, options in (("PNG", "png", {"optimize": True}), ("WEBP", "webp", {"lossless": True})):
            out = io.BytesIO()
            logo.save(out, fmt, **options)
            entry[ext] = _replace(storage, f"{stem}_{size}.{ext}", ContentFile(out.getvalue()))
            written.append(entry[ext])
    return entry


def delete_files(names) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def rendition_files(renditions: dict) -> list[str]:
    return [entry[ext] for entry in renditions.values() for ext in ("jpg", "webp") if entry.get(ext)]
