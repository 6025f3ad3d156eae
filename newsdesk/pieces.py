"""What the newsdesk knows of a piece beyond its feed item: its canonical URL, the main text and
metadata of its article page (trafilatura), and a fingerprint that tells a wire copy from a piece
of its own reporting."""

import copy
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import lxml.html
import trafilatura
from trafilatura.utils import load_html

from newsdesk.feeds import language_tag

# Query parameters that say where a reader came from, not which page it is.
TRACKING = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid"}
    | {"mc_eid", "ref", "ref_src", "ref_url", "referrer", "cmpid", "ocid", "icid", "ito", "sr_share"}
    | {"_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "spm", "smid", "s_cid", "wt.mc_id", "cmp", "xtor"}
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_", "__twitter")  # Google, Piwik, Matomo, AT Internet
DEFAULT_PORTS = {"http": 80, "https": 443}

# Copies by fingerprint alone: at most this many of the 64 bits apart. SimHash bits differ in
# proportion to the angle between the texts, so a light edit costs more bits than one would think.
# Measured on the corpus (newsdesk/demo/corpus, texts of ~100 words, each edited at random): 3% of
# words changed, or a sentence added, moves a text 7-8 bits (median), 12 (90th percentile), 14 (97th);
# another outlet's own piece on the same event stayed 17 bits or more from every other (18,000 pairs).
COPY_BITS = 12
# Ingestion looks wider (NEAR_BITS) and confirms on the texts themselves: a copy shares most of its
# three-word shingles with its original (0.73 and up measured, even with an intro added, a sentence
# cut and 3% of words changed), another outlet's own reporting of the same event 0.15 at most.
NEAR_BITS = 22
COPY_OVERLAP = 0.5
SHINGLE = 3  # words per shingle
MIN_WORDS = 12  # a shorter text has no fingerprint (0): too few shingles to tell copies apart
MASK = (1 << 64) - 1
WORD = re.compile(r"[^\W_]+", re.UNICODE)
# The date htmldate reads from the page's metadata, to the second when the page says it.
DATE_CONFIG = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


@dataclass(frozen=True)
class Extracted:
    text: str  # the main text, a paragraph a line, without the headline
    title: str
    author: str
    published_at: datetime | None
    language: str  # the page's declared language, lower case ("en-gb"), or ""
    image_url: str  # og:image (or twitter:image)
    canonical_url: str  # <link rel=canonical>, absolute, or ""


def canonical_url(url: str) -> str:
    """`url` as the newsdesk stores it: scheme and host in lower case, no default port, no user name
    or password, no fragment, no tracking parameters and the others sorted (each kept as written),
    the path kept as it is ("/" if empty). ValueError if its port is no number."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # IPv6
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    query = sorted(
        pair
        for pair in parts.query.split("&")
        if pair and not _tracking(unquote_plus(pair.partition("=")[0]).lower())
    )
    return urlunsplit((scheme, netloc, parts.path or "/", "&".join(query), ""))


def _tracking(name: str) -> bool:
    return name in TRACKING or name.startswith(TRACKING_PREFIXES)


def extract(html: str | bytes, url: str) -> Extracted | None:
    """The main text and metadata of the article page `html` found at `url`, or None if it has none.

    trafilatura reads the text (fast: no fallback extractors, no comments, no tables). The metadata
    comes from trafilatura's extract_metadata over the page's <head> alone: run over the whole page it
    searches the body for bylines, dates and licences, which measured 8-57 ms a page against 0.2 ms
    (the feed gives the author and date first; the head holds og:image and the canonical link).
    """
    if not html.strip():
        return None  # (trafilatura would log an error for it)
    tree = load_html(html)
    if tree is None:
        return None
    metadata = trafilatura.extract_metadata(_head_only(tree), default_url=url, date_config=dict(DATE_CONFIG))
    language, canonical = _language(tree), _canonical_link(tree, url)  # read before the extractor prunes
    document = trafilatura.bare_extraction(
        tree, url=url, fast=True, include_comments=False, include_tables=False, with_metadata=False
    )
    title = " ".join((metadata.title or "").split())
    lines = (document.text or "").splitlines() if document is not None else []
    if lines and title and lines[0].strip() == title:
        lines = lines[1:]  # the headline, which the piece keeps apart
    return Extracted(
        text="\n".join(line.strip() for line in lines if line.strip()),
        title=title,
        author=" ".join((metadata.author or "").split()),
        published_at=_datetime(metadata.date),
        language=language,
        image_url=metadata.image or "",
        canonical_url=canonical,
    )


def _head_only(tree):
    page = lxml.html.Element("html")
    head = tree.find("head")
    if head is not None:
        page.append(copy.deepcopy(head))
    page.append(lxml.html.Element("body"))
    return page


def _canonical_link(tree, url: str) -> str:
    for link in tree.iterfind(".//head/link[@rel='canonical'][@href]"):
        try:
            return lxml.html.urljoin(url, link.get("href").strip())
        except ValueError:  # "https://[broken" and the like
            return ""
    return ""


def _language(tree) -> str:
    declared = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    if not declared:
        for meta in tree.iterfind(".//head/meta[@http-equiv]"):
            if meta.get("http-equiv", "").lower() == "content-language":
                declared = meta.get("content", "")
                break
        else:
            for meta in tree.iterfind(".//head/meta[@property='og:locale']"):
                declared = meta.get("content", "")
    return language_tag(declared)


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Without a zone the page gave a day, not a time: the feed's date (or the fetch time) is better.
    return moment if moment.tzinfo else None


def _shingles(text: str) -> list[str]:
    words = WORD.findall(text.lower())
    return [" ".join(words[start : start + SHINGLE]) for start in range(len(words) - SHINGLE + 1)]


def fingerprint(text: str) -> int:
    """The 64-bit SimHash of `text` over shingles of three words (case and punctuation ignored),
    stored signed (a BigIntegerField); 0 for a text too short to tell copies apart."""
    shingles = _shingles(text)
    if len(shingles) < MIN_WORDS - SHINGLE + 1:
        return 0
    hashes = [hashlib.blake2b(shingle.encode(), digest_size=8).hexdigest() for shingle in shingles]
    # Each bit is set where most shingles' hashes have it: counted a column at a time over the hashes
    # written in binary (three times faster than shifting every hash 64 times).
    columns = zip(*(format(int(value, 16), "064b") for value in hashes), strict=True)
    simhash = int("".join("1" if column.count("1") * 2 > len(hashes) else "0" for column in columns), 2)
    return simhash - (1 << 64) if simhash >= 1 << 63 else simhash


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits differ between two fingerprints."""
    return ((a ^ b) & MASK).bit_count()


def is_copy(a: int, b: int, *, bits: int = COPY_BITS) -> bool:
    """Whether two fingerprinted texts are near-identical (one a lightly edited copy of the other)."""
    return a != 0 and b != 0 and hamming(a, b) <= bits


def overlap(a: str, b: str) -> float:
    """The share of the shorter text's three-word shingles that the other text has too (0 to 1)."""
    first, second = set(_shingles(a)), set(_shingles(b))
    if not first or not second:
        return 0.0
    return len(first & second) / min(len(first), len(second))
