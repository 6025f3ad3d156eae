"""Placeholder artwork for the demo newsroom: abstract lead images and outlet logos.

Everything here is generated with Pillow alone and is deterministic: the same seed always gives
the same bytes, so demo content can be rebuilt without storing binary files.

- ``lead_image`` paints a soft "editorial illustration" (gradient sky, sun, horizon, bands) in a
  palette chosen by the story's section, and returns JPEG bytes.
- ``logo_image`` draws a rounded square in a dark, seed-derived colour with the outlet's initials
  in white, and returns PNG bytes.
"""

import colorsys
import hashlib
import io
import math
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

RGB = tuple[int, int, int]

# Per section: top of the sky, bottom of the sky, then accent colours for shapes and ground.
PALETTES: dict[str, tuple[RGB, ...]] = {
    "world": ((12, 36, 79), (94, 152, 204), (178, 214, 240), (33, 83, 145), (230, 240, 250)),
    "politics": ((40, 18, 66), (142, 98, 178), (214, 190, 235), (88, 48, 128), (247, 236, 252)),
    "crypto": ((6, 48, 52), (44, 150, 136), (160, 226, 196), (18, 98, 92), (228, 250, 240)),
    "business": ((84, 44, 8), (214, 146, 52), (250, 214, 150), (150, 88, 20), (255, 244, 224)),
    "sports": ((96, 20, 16), (226, 92, 46), (252, 190, 120), (170, 46, 30), (255, 236, 220)),
}
DEFAULT_PALETTE = ((30, 36, 46), (110, 124, 142), (196, 204, 214), (66, 76, 92), (238, 241, 245))

# The scene is painted at this width and scaled up: fast, and the upscaling softens the shapes.
_DRAW_WIDTH = 640

_MINOR_WORDS = frozenset({"the", "a", "an", "of", "and", "for", "on", "in", "at", "de", "la", "le", "el"})


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    """A vertical gradient from `top` to `bottom`, built from Pillow's 256-step linear ramp."""
    mask = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _overlay(base: Image.Image, paint) -> Image.Image:
    """Run `paint(draw)` on a transparent layer and blend it onto `base`."""
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    paint(ImageDraw.Draw(layer))
    return Image.alpha_composite(base, layer)


def lead_image(seed: str, section: str, width: int = 1600, height: int = 900) -> bytes:
    """JPEG bytes of an abstract lead illustration for a story in `section`.

    The layout (sun, bands, horizon, hills) comes from `random.Random(seed)`, the colours from the
    section's palette (an unknown section falls back to slate greys).
    """
    if width < 1 or height < 1:
        raise ValueError("width and height must be positive")
    rng = random.Random(seed)
    top, bottom, light, deep, pale = PALETTES.get(section, DEFAULT_PALETTE)
    # Nudge the sky a little per seed so stories in one section do not all look the same.
    top = _mix(top, deep, rng.uniform(0.0, 0.35))
    bottom = _mix(bottom, light, rng.uniform(0.0, 0.3))

    w = _DRAW_WIDTH
    h = max(1, round(w * height / width))
    img = _gradient((w, h), top, bottom).convert("RGBA")

    # A soft sun or moon with a halo.
    cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.18, 0.5) * h
    r = rng.uniform(0.07, 0.14) * w

    glow = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ImageDraw.Draw(glow).ellipse((cx - r * 2, cy - r * 2, cx + r * 2, cy + r * 2), fill=(*pale, 90))
    img = Image.alpha_composite(img, glow.filter(ImageFilter.GaussianBlur(r * 0.8)))
    img = _overlay(img, lambda d: d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*pale, 215)))

    # Translucent diagonal bands across the sky.
    def bands(d: ImageDraw.ImageDraw) -> None:
        for _ in range(rng.randint(2, 4)):
            x0 = rng.uniform(-0.3, 1.0) * w
            slant = rng.uniform(-0.6, 0.6) * h
            thick = rng.uniform(0.04, 0.12) * w
            colour = rng.choice((light, pale, deep))
            d.polygon(
                [(x0, 0), (x0 + thick, 0), (x0 + thick + slant, h), (x0 + slant, h)],
                fill=(*colour, rng.randint(22, 55)),
            )

    img = _overlay(img, bands)

    # A few floating circles and rings.
    def circles(d: ImageDraw.ImageDraw) -> None:
        for _ in range(rng.randint(3, 6)):
            x, y = rng.uniform(0, w), rng.uniform(0, h * 0.75)
            rr = rng.uniform(0.02, 0.09) * w
            box = (x - rr, y - rr, x + rr, y + rr)
            colour = rng.choice((light, pale, deep))
            if rng.random() < 0.4:
                d.ellipse(box, outline=(*colour, 110), width=max(1, round(rr / 8)))
            else:
                d.ellipse(box, fill=(*colour, rng.randint(35, 80)))

    img = _overlay(img, circles)

    # Two layers of rolling ground meeting a horizon line.
    horizon = rng.uniform(0.6, 0.75) * h

    def ground(d: ImageDraw.ImageDraw) -> None:
        for layer, colour, alpha in ((0, _mix(deep, light, 0.35), 200), (1, deep, 245)):
            base_y = horizon + layer * rng.uniform(0.06, 0.12) * h
            amp = rng.uniform(0.02, 0.07) * h
            steps = 48
            phase, freq = rng.uniform(0, math.tau), rng.uniform(0.6, 1.8)
            points = [(0.0, float(h))]
            for i in range(steps + 1):
                u = i / steps
                wave = math.sin(phase + math.tau * freq * u) + 0.35 * math.sin(phase * 2 + 9 * u)
                points.append((w * u, base_y - amp * wave))
            points.append((float(w), float(h)))
            d.polygon(points, fill=(*colour, alpha))

    img = _overlay(img, ground)

    img = img.convert("RGB").filter(ImageFilter.GaussianBlur(1.1))
    img = img.resize((width, height), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def _initials(name: str) -> str:
    """First letters of up to two significant words ("The Harbour Ledger" -> "HL").

    A single CamelCase word counts its capitals as words ("ChainDesk" -> "CD").
    """
    words = [w for w in name.replace("&", " ").replace("-", " ").split() if w.strip(".,'")]
    significant = [w for w in words if w.lower() not in _MINOR_WORDS] or words
    if len(significant) == 1:
        capitals = [c for c in significant[0] if c.isupper()]
        if len(capitals) >= 2:
            return "".join(capitals[:2])
    letters = [next((c for c in w if c.isalnum()), "") for w in significant[:2]]
    return "".join(letters).upper() or "?"


def _relative_luminance(colour: RGB) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = colour
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _logo_colour(color_seed: str) -> RGB:
    """A saturated, dark colour from the seed, darkened until white text has at least 5.5:1 contrast."""
    digest = hashlib.sha256(color_seed.encode("utf-8")).digest()
    hue = digest[0] / 256
    saturation = 0.45 + digest[1] / 255 * 0.35
    lightness = 0.26 + digest[2] / 255 * 0.12
    while True:
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        colour = (round(r * 255), round(g * 255), round(b * 255))
        if 1.05 / (_relative_luminance(colour) + 0.05) >= 5.5 or lightness <= 0.05:
            return colour
        lightness -= 0.02


def logo_image(name: str, color_seed: str, size: int = 128) -> bytes:
    """PNG bytes of a square logo: the outlet's initials in white on a dark rounded square."""
    if size < 8:
        raise ValueError("size must be at least 8 pixels")
    scale = 4  # draw large, then downsample, for smooth corners and glyph edges
    big = size * scale
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(big * 0.22), fill=_logo_colour(color_seed))

    text = _initials(name)
    font = ImageFont.load_default(size=round(big * (0.5 if len(text) == 1 else 0.4)))
    draw.text(
        (big / 2, big / 2),
        text,
        font=font,
        fill="white",
        anchor="mm",
        stroke_width=max(1, round(big * 0.012)),
        stroke_fill="white",
    )

    img = img.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
