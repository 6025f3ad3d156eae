"""Reading an outlet's feed: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed by hand, into
one shape (ParsedFeed of FeedItem), or a FeedError saying in one line why the body is no feed."""

import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html
from django.utils import timezone
from lxml import etree

# A fetch reads at most this many items (feeds list the newest first): a feed of 10,000 items
# costs no more than one of 200.
MAX_ITEMS = 200
MAX_TEXT = 100_000  # characters of a feed's own text kept per item
MAX_URL = 1000  # Piece.url's length
TITLE_LENGTH = 500  # Piece.title's length
# feedparser's notes on an otherwise readable document: the feed was read, nothing is wrong with it.
HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
HTML_PAGE = "an HTML page, not a feed (the address of the outlet's page rather than of its feed?)"
DATE_KEYS = ("published_parsed", "updated_parsed", "created_parsed")
JSON_TYPES = ("application/feed+json", "application/json")
HTML_START = re.compile(rb"^(?:\s|<!--.*?-->)*<(?:!doctype\s+html|html|head|body)[\s>]", re.I | re.S)
EMAIL_NAME = re.compile(r"^\s*[^\s@]+@[^\s@]+\s*\((?P<name>[^()]+)\)\s*$")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
URL_BLANKS = str.maketrans("", "", "\t\r\n")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    | {"table", "tr", "figure", "figcaption", "section", "article", "header", "footer"}
)


class FeedError(Exception):
    """The body is no feed we can read; `reason` is one line for the feed's record and the log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FeedItem:
    url: str  # absolute, http(s)
    title: str
    author: str
    published_at: datetime  # aware; the fetch time when the item gave none (then `dated` is False)
    text: str  # plain text of the item's summary or content
    image_url: str
    language: str
    dated: bool = True


@dataclass(frozen=True)
class ParsedFeed:
    format: str  # "rss20", "atom10", "json11"... (feedparser's names, "json1x" for JSON Feed)
    title: str
    language: str
    items: list[FeedItem] = field(default_factory=list)
    skipped: int = 0  # items left out: no link, or not an http(s) one


def parse_feed(body: bytes, *, content_type: str, url: str, fetched_at: datetime | None = None) -> ParsedFeed:
    """The feed in `body`, fetched from `url` (the base of relative links) at `fetched_at` (now)."""
    fetched_at = fetched_at or timezone.now()
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise FeedError("an empty body, not a feed")
    if head.startswith(b"{") or (content_type in JSON_TYPES and not head.startswith(b"<")):
        feed = _parse_json(body, url=url, fetched_at=fetched_at)
    elif HTML_START.match(head):
        raise FeedError(HTML_PAGE)
    else:
        feed = _parse_xml(body, content_type=content_type, url=url, fetched_at=fetched_at)
    if feed.skipped and not feed.items:
        raise FeedError(f"none of the feed's {feed.skipped} items has a web link (http or https)")
    return feed


def html_text(html: str) -> str:
    """Plain text of an HTML fragment, one paragraph a line; entities decoded, scripts left out."""
    html = CONTROL.sub("", html)
    if "<" not in html and "&" not in html:
        return _tidy(html)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(html)
    etree.strip_elements(root, "script", "style", etree.Comment, with_tail=False)
    # Block elements start and end a line, so paragraphs stay apart in the text.
    for element in root.iter(*BLOCKS):
        element.text = "\n" + (element.text or "")
        element.tail = "\n" + (element.tail or "")
    return _tidy(root.text_content())


def language_tag(value) -> str:
    """A language as the pieces store it ("en-gb"), from "en-GB", "en_GB" or "en-gb, fr"; "" for
    what is no language tag."""
    tag = value.split(",")[0].strip().replace("_", "-").lower() if isinstance(value, str) else ""
    return tag if LANGUAGE.fullmatch(tag) and len(tag) <= 16 else ""


def _tidy(text: str) -> str:
    text = CONTROL.sub("", text)  # (PostgreSQL refuses NUL in text; none of them is text anyway)
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())[:MAX_TEXT]


def web_url(value, base: str) -> str:
    """`value` as an absolute http(s) URL resolved against `base`, or "" if it is none."""
    if not isinstance(value, str) or not value.strip():
        return ""
    # As browsers do: line breaks and tabs inside an address dropped, spaces escaped.
    value = value.strip().translate(URL_BLANKS).replace(" ", "%20")
    try:
        absolute = urljoin(base, value)
        parts = urlsplit(absolute)
        parts.port  # noqa: B018 (raises ValueError for a port that is no number)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or len(absolute) > MAX_URL:
        return ""
    if CONTROL.search(absolute):
        return ""  # no address has them: a broken feed
    return absolute


def _title(title: str, text: str) -> str:
    title = " ".join(html_text(title or "").split())
    if not title:
        # Some feeds (micro-posts) give no title: the text's first words stand in for it.
        title = " ".join(text.split()[:16])
    return title[:TITLE_LENGTH]


def _aware(moment: datetime, fetched_at: datetime) -> datetime:
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    # An item dated ahead of the fetch (a wrong clock or a scheduled post) is published now.
    return min(moment, fetched_at)


def _parse_xml(body: bytes, *, content_type: str, url: str, fetched_at: datetime) -> ParsedFeed:
    try:
        # A stream, never a string: feedparser would fetch a string that looks like a URL.
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers={"content-location": url, "content-type": content_type or "application/xml"},
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except (UnicodeError, ValueError, LookupError) as error:
        # feedparser trusting a broken encoding declaration (<?xml encoding="utf\x00-8"?>...).
        raise FeedError(
            f"not readable: its declared character encoding is broken ({type(error).__name__})"
        ) from None
    problem = parsed.get("bozo_exception") if parsed.bozo else None
    if problem is not None and isinstance(problem, HARMLESS):
        problem = None
    if not parsed.version and content_type == "text/html":
        raise FeedError(HTML_PAGE)
    if not parsed.entries and not parsed.version and problem is None:
        raise FeedError("not a feed: no RSS, Atom or JSON Feed found in the document")
    language = language_tag(parsed.feed.get("language"))
    items, skipped = [], 0
    for entry in parsed.entries[:MAX_ITEMS]:
        item = _xml_item(entry, base=url, language=language, fetched_at=fetched_at)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    if problem is not None and not items:
        # Broken XML that feedparser's lenient reading could not save a single item from.
        message = problem.getMessage() if hasattr(problem, "getMessage") else str(problem)
        raise FeedError(f"not well-formed XML, and no item could be read: {message}")
    return ParsedFeed(
        format=parsed.version or "unknown",
        title=_title(parsed.feed.get("title", ""), "")[:TITLE_LENGTH],
        language=language,
        items=items,
        skipped=skipped,
    )


def _xml_item(entry, *, base: str, language: str, fetched_at: datetime) -> FeedItem | None:
    link = entry.get("link") or (entry.get("id") if entry.get("guidislink") else "")
    item_base = (entry.get("title_detail") or {}).get("base") or base
    url = web_url(link, item_base)
    if not url:
        return None
    # The full text (content:encoded, Atom content) when given, else the summary.
    bodies = [c.get("value", "") for c in entry.get("content") or []] + [entry.get("summary", "")]
    text = max((html_text(b) for b in bodies if b), key=len, default="")
    # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed, with a warning.
    moment = next((dict.get(entry, k) for k in DATE_KEYS if dict.get(entry, k)), None)
    published_at = _aware(datetime(*moment[:6], tzinfo=UTC), fetched_at) if moment else fetched_at
    authors = [a.get("name", "") for a in entry.get("authors") or [] if a.get("name")]
    author = ", ".join(authors) if len(authors) > 1 else entry.get("author", "")
    # RSS 2.0's <author> is "email (Name)": the name alone (feedparser splits it wrongly).
    if named := EMAIL_NAME.match(author):
        author = named["name"]
    details = [entry.get("title_detail") or {}, *(entry.get("content") or [])]
    item_language = language_tag(next((d.get("language") for d in details if d.get("language")), ""))
    return FeedItem(
        url=url,
        title=_title(entry.get("title", ""), text),
        author=html_text(author)[:300],
        published_at=published_at,
        text=text,
        image_url=_xml_image(entry, base=item_base),
        language=item_language or language,
        dated=bool(moment),
    )


def _xml_image(entry, *, base: str) -> str:
    for media in entry.get("media_content") or []:
        kind = media.get("medium") or (media.get("type") or "").split("/")[0]
        if kind in ("image", "") and (found := web_url(media.get("url"), base)):
            return found
    for thumbnail in entry.get("media_thumbnail") or []:
        if found := web_url(thumbnail.get("url"), base):
            return found
    for link in entry.get("links") or []:
        image = link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/")
        if image and (found := web_url(link.get("href"), base)):
            return found
    return ""


def _parse_json(body: bytes, *, url: str, fetched_at: datetime) -> ParsedFeed:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FeedError(f"not valid JSON: {error}") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise FeedError("JSON, but not a JSON Feed (no https://jsonfeed.org/version/ in 'version')")
    entries = document.get("items")
    if not isinstance(entries, list):
        raise FeedError("a JSON Feed without a list of items")
    base = web_url(document.get("home_page_url"), url) or url
    language = language_tag(document.get("language"))
    items, skipped = [], 0
    for entry in entries[:MAX_ITEMS]:
        item = _json_item(entry, base=base, language=language, fetched_at=fetched_at)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    return ParsedFeed(
        format="json" + version.rsplit("/", 1)[-1].replace(".", ""),
        title=_title(_string(document.get("title")), ""),
        language=language,
        items=items,
        skipped=skipped,
    )


def _string(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _json_item(entry, *, base: str, language: str, fetched_at: datetime) -> FeedItem | None:
    if not isinstance(entry, dict):
        return None
    url = web_url(entry.get("url"), base) or web_url(entry.get("external_url"), base)
    if not url:
        return None
    html, plain, summary = (_string(entry.get(k)) for k in ("content_html", "content_text", "summary"))
    text = max((html_text(html), _tidy(plain), _tidy(summary)), key=len)
    published_at, dated = fetched_at, False
    for key in ("date_published", "date_modified"):
        try:
            moment = datetime.fromisoformat(_string(entry.get(key)))
        except ValueError:
            continue
        published_at, dated = _aware(moment, fetched_at), True
        break
    # Version 1.1 has a list of authors; 1.0 had one author.
    authors = entry.get("authors") if isinstance(entry.get("authors"), list) else [entry.get("author")]
    author = _tidy(
        ", ".join(_string(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name"))
    )
    image = web_url(entry.get("image"), base) or web_url(entry.get("banner_image"), base)
    for attachment in entry.get("attachments") or []:
        if image:
            break
        if isinstance(attachment, dict) and _string(attachment.get("mime_type")).startswith("image/"):
            image = web_url(attachment.get("url"), base)
    return FeedItem(
        url=url,
        title=_title(_string(entry.get("title")), text),
        author=author[:300],
        published_at=published_at,
        text=text,
        image_url=image,
        language=language_tag(entry.get("language")) or language,
        dated=dated,
    )
