"""Pictures out of bounds for the tests, made with Pillow, and a way to see whether any was decoded."""

import io
from contextlib import contextmanager
from unittest import mock

from PIL import Image, ImageFile

WEBP_SIDE_MESSAGE = "the longest side may be at most 16383 px."

# (mode, size, format): real pictures, all under the 40-megapixel cap, that WebP cannot store or
# that cost minutes to resize; each is small on disk (38 KB to 380 KB).
OUT_OF_BOUNDS = {
    "png-800x20000": ("RGB", (800, 20_000), "PNG"),
    "png-1000x39000": ("RGB", (1000, 39_000), "PNG"),
    "jpeg-1440x17000": ("RGB", (1440, 17_000), "JPEG"),
    "png-39000000x1": ("L", (39_000_000, 1), "PNG"),
}
_made: dict = {}


def picture(mode="RGB", size=(20, 10), fmt="PNG") -> bytes:
    """A plain picture, encoded; the large ones are made once per test run."""
    key = (mode, size, fmt)
    if key not in _made:
        out = io.BytesIO()
        Image.new(mode, size, 0).save(out, fmt)
        data = out.getvalue()
        if size[0] * size[1] < 1_000_000:
            return data
        _made[key] = data
    return _made[key]


def out_of_bounds(case: str) -> tuple[bytes, str]:
    """The picture of OUT_OF_BOUNDS[case] and the message refusing it."""
    mode, (width, height), fmt = OUT_OF_BOUNDS[case]
    return picture(mode, (width, height), fmt), f"The picture is {width}×{height} pixels; {WEBP_SIDE_MESSAGE}"


@contextmanager
def decoding():
    """A list that receives the size of every picture decoded in the block (Pillow's ImageFile.load)."""
    sizes = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        sizes.append(self.size)
        return real_load(self)

    with mock.patch.object(ImageFile.ImageFile, "load", load):
        yield sizes
