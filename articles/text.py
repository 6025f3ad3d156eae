"""Editors' Markdown, rendered once at save time into sanitized HTML."""

import html
import re
import threading

import markdown
import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "a",
    "em",
    "strong",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h2",
    "h3",
    "h4",
    "code",
    "pre",
    "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
# Only web links are ever rendered as links: no javascript:, data:, mailto: or relative trickery.
URL_SCHEMES = {"http", "https"}


_local = threading.local()
_BLOCK_TAG = re.compile(r"</?(?:p|br|li|ul|ol|blockquote|h[1-6]|pre|hr)\b[^>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]+>")


def _converter() -> markdown.Markdown:
    # Building a Markdown instance costs more than converting a summary; keep one per thread.
    if not hasattr(_local, "md"):
        _local.md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    return _local.md


def render_markdown(source: str) -> str:
    raw = _converter().reset().convert(source or "")
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def plain_excerpt(rendered_html: str, limit: int = 240) -> str:
    """First words of the rendered summary as plain text, cut on a word boundary."""
    # Block tags end a word; inline tags (<em>, <a>) sit inside a sentence and must not add spaces.
    spaced = _BLOCK_TAG.sub(" ", rendered_html)
    text = html.unescape(_ANY_TAG.sub("", spaced))
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.-")
    return f"{cut}…"
