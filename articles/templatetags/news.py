"""Template helpers for the public pages; HTML is built with format_html only."""

import json

from django import template
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import _json_script_escapes, format_html
from django.utils.safestring import mark_safe

register = template.Library()

LEAD_SIZES = "(min-width: 62rem) 58rem, 100vw"
CARD_SIZES = "(min-width: 62rem) 20rem, (min-width: 40rem) 45vw, 100vw"


def _srcset(entries, ext):
    return ", ".join(f"{default_storage.url(e[ext])} {e['w']}w" for e in entries)


@register.simple_tag
def picture(article, sizes="lead", lazy=True, css_class=""):
    """A <picture> with WebP and JPEG srcsets from the renditions made at save time."""
    entries = sorted((e for k, e in article.renditions.items() if k != "thumb"), key=lambda e: e["w"])
    if not entries:
        return ""
    fallback = next((e for e in entries if e["w"] >= 960), entries[-1])
    return format_html(
        '<picture><source type="image/webp" srcset="{}" sizes="{}">'
        '<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}"{}{}></picture>',
        _srcset(entries, "webp"),
        LEAD_SIZES if sizes == "lead" else CARD_SIZES,
        default_storage.url(fallback["jpg"]),
        _srcset(entries, "jpg"),
        LEAD_SIZES if sizes == "lead" else CARD_SIZES,
        fallback["w"],
        fallback["h"],
        article.image_alt,
        format_html(' class="{}"', css_class) if css_class else "",
        mark_safe(' loading="lazy" decoding="async"') if lazy else mark_safe(' fetchpriority="high"'),
    )


@register.inclusion_tag("includes/_bias_bar.html")
def bias_bar(rating, compact=False):
    # A story without a rating resolves to "" in a template (`article.bias_rating` raises
    # RelatedObjectDoesNotExist, which templates swallow), not to None.
    if not rating:
        return {"rating": None, "compact": compact}
    parts = [
        ("l", "Left", "L", rating.left),
        ("c", "Center", "C", rating.center),
        ("r", "Right", "R", rating.right),
    ]
    offset = 0
    segments = []
    for key, word, letter, value in parts:
        segments.append({"key": key, "word": word, "letter": letter, "value": value, "x": offset})
        offset += value
    return {"rating": rating, "segments": segments, "compact": compact}


@register.simple_tag
def source_logo(source, size=32):
    """An outlet's logo: the small rendition for list sizes, the stored logo (<= 256 px) above that."""
    if not source.logo:
        return format_html('<span class="logo-fallback" aria-hidden="true">{}</span>', source.name[:1])
    small = source.logo_small
    width = size
    height = round(size * (source.logo_height or 1) / (source.logo_width or 1))
    if small and size * 2 <= max(small["w"], small["h"]):
        return format_html(
            '<picture><source type="image/webp" srcset="{}"><img src="{}" alt="{} logo" '
            'width="{}" height="{}" class="source-logo" loading="lazy"></picture>',
            default_storage.url(small["webp"]),
            default_storage.url(small["png"]),
            source.name,
            width,
            height,
        )
    return format_html(
        '<img src="{}" alt="{} logo" width="{}" height="{}" class="source-logo" loading="lazy">',
        source.logo.url,
        source.name,
        width,
        height,
    )


@register.simple_tag
def summary_paragraphs(article):
    """The sanitized HTML made at save time (never the raw Markdown)."""
    return mark_safe(article.summary_html)


@register.simple_tag
def json_ld(data):
    """A schema.org block. Escaped like json_script, so a "</script>" in a title cannot break out."""
    payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_json_script_escapes)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(payload))
