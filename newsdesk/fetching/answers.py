"""Reading an answer's headers: media type and charset, freshness, the wait a server asks for."""

import codecs
import email.utils
import time
from email.message import Message

# What each purpose accepts. Feeds: any XML or JSON type (servers label RSS and Atom every which way,
# text/xml included); the feed parser judges the content.
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# SVG can carry scripts and our picture pipeline does not read it.
REFUSED_IMAGE_TYPES = frozenset({"image/svg+xml"})


def content_type_parse(value: str) -> tuple[str, str | None]:
    """("application/rss+xml", "utf-8") from 'application/rss+xml; charset="UTF-8"'; a charset Python
    does not know is dropped (None) rather than failing a later decode."""
    if not value:
        return "", None
    message = Message()
    message["content-type"] = value
    media_type = message.get_content_type() if "/" in value.split(";", 1)[0] else ""
    charset = message.get_content_charset()
    if charset:
        try:
            charset = codecs.lookup(charset).name
        except LookupError:
            charset = None
    return media_type.lower(), charset


def content_type_accepts(purpose: str, media_type: str) -> bool:
    if not media_type:
        return False
    kind, _, subtype = media_type.partition("/")
    if purpose == "feed":
        return kind in ("application", "text") and (
            subtype in ("xml", "json") or subtype.endswith(("+xml", "+json"))
        )
    if purpose == "page":
        return media_type in PAGE_TYPES
    if purpose == "image":
        return kind == "image" and media_type not in REFUSED_IMAGE_TYPES
    return True  # robots.txt: read whatever it is, like the crawlers do


def max_age_parse(headers: dict[str, str]) -> int | None:
    """Seconds the answer stays fresh: Cache-Control max-age less the Age it already had in a cache."""
    max_age = None
    for directive in headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            try:
                max_age = int(value.strip().strip('"'))
            except ValueError:
                return None
    if max_age is None or max_age < 0:
        return None
    try:
        age = max(0, int(headers.get("age", "0").strip()))
    except ValueError:
        age = 0
    return max(0, max_age - age)


def retry_after_parse(value: str) -> float | None:
    """Seconds to wait, from a number of seconds or an HTTP date; None when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
