"""A piece's canonical URL, the main text and metadata of its page, and the fingerprint that tells a
wire copy from another outlet's own reporting."""

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.pieces import (
    COPY_BITS,
    COPY_OVERLAP,
    NEAR_BITS,
    canonical_url,
    extract,
    fingerprint,
    hamming,
    is_copy,
    overlap,
)
from tests.newsdesk.wire_texts import COPY, SAME_EVENT, UNRELATED, WIRE

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Metro.Example/News/Tram-Line", "https://metro.example/News/Tram-Line"),
        ("https://metro.example:443/a", "https://metro.example/a"),
        ("http://metro.example:80/a", "http://metro.example/a"),
        ("https://metro.example:8443/a", "https://metro.example:8443/a"),
        ("https://metro.example", "https://metro.example/"),
        ("https://metro.example/a#comments", "https://metro.example/a"),
        ("https://metro.example/a?utm_source=rss&utm_medium=feed&UTM_Campaign=x", "https://metro.example/a"),
        (
            "https://metro.example/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ref=tw&cmpid=5&ocid=6",
            "https://metro.example/a",
        ),
        ("https://metro.example/a?page=2&id=7&utm_source=x", "https://metro.example/a?id=7&page=2"),
        # Parameters that are kept are kept as written (encoding and all).
        ("https://metro.example/s?q=tram+line&x=%2F,", "https://metro.example/s?q=tram+line&x=%2F,"),
        ("https://metro.example/a?", "https://metro.example/a"),
        ("https://reader:secret@metro.example/a", "https://metro.example/a"),
        ("https://metro.example./a", "https://metro.example/a"),
        ("http://[2001:DB8::1]:80/a", "http://[2001:db8::1]/a"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_canonical_url_is_stable():
    once = canonical_url("https://Metro.example:443/a/?b=2&a=1&utm_term=x#top")
    assert canonical_url(once) == once == "https://metro.example/a/?a=1&b=2"


def test_a_port_that_is_no_number_is_a_value_error():
    with pytest.raises(ValueError):
        canonical_url("https://metro.example:http/a")


def test_extract_reads_the_main_text_and_the_head():
    html = (FIXTURES / "page.html").read_bytes()
    page = extract(html, "https://metro.example/news/tram-line?utm_source=rss")
    paragraphs = page.text.splitlines()
    assert paragraphs[0].startswith("The city council voted 31 to 12 on Tuesday night")
    assert paragraphs[-1].startswith("Construction is due to begin next spring")
    assert len(paragraphs) == 4
    # Navigation, promotion, byline, comments and footer are not the article's text.
    for boilerplate in ("Subscribe", "Great news", "Copyright", "Weather", "transport correspondent"):
        assert boilerplate not in page.text
    assert page.title == "Council approves new tram line"  # kept apart from the text
    assert page.author == "Priya Shah"
    assert page.published_at == datetime(2026, 3, 4, 8, 15, tzinfo=UTC)
    assert page.language == "en-gb"
    assert page.image_url == "https://metro.example/img/tram-large.jpg"
    assert page.canonical_url == "https://metro.example/news/tram-line"


def test_extract_of_a_page_without_metadata():
    html = (
        "<html><body><article>"
        + "<p>A sentence about the harbour and its boats.</p>" * 8
        + "</article></body></html>"
    )
    page = extract(html, "https://gazette.example/a")
    assert "harbour and its boats" in page.text
    assert (page.author, page.published_at, page.language, page.image_url) == ("", None, "", "")


@pytest.mark.parametrize("html", ["", "   ", b""])
def test_extract_of_nothing_is_none(html):
    assert extract(html, "https://gazette.example/a") is None


def test_extract_language_from_content_language_or_og_locale():
    body = "<body><article><p>Le port a rouvert.</p></article></body>"
    meta = '<meta http-equiv="Content-Language" content="fr-CA, en">'
    assert extract(f"<html><head>{meta}</head>{body}</html>", "https://l.example/").language == "fr-ca"
    og = '<meta property="og:locale" content="de_DE">'
    assert extract(f"<html><head>{og}</head>{body}</html>", "https://l.example/").language == "de-de"
    bad = '<html lang="not a language"><head></head>' + body + "</html>"
    assert extract(bad, "https://l.example/").language == ""


def test_fingerprint_is_signed_64_bit_and_case_and_punctuation_blind():
    value = fingerprint(WIRE)
    assert -(2**63) <= value < 2**63 and value != 0
    assert fingerprint(WIRE.upper().replace(", ", " -- ")) == value
    assert fingerprint("Too short to tell copies apart.") == 0


def test_a_lightly_edited_wire_copy_is_a_copy_and_another_outlets_piece_is_not():
    copy, same_event, unrelated = fingerprint(COPY), fingerprint(SAME_EVENT), fingerprint(UNRELATED)
    original = fingerprint(WIRE)
    # The figures COPY_BITS, NEAR_BITS and COPY_OVERLAP were chosen on (with the corpus).
    assert hamming(original, copy) == 12
    assert hamming(original, same_event) == 33
    assert hamming(original, unrelated) == 31
    assert is_copy(original, copy)
    assert not is_copy(original, same_event) and not is_copy(original, unrelated)
    assert hamming(original, copy) <= NEAR_BITS and overlap(WIRE, COPY) >= COPY_OVERLAP
    assert overlap(WIRE, COPY) > 0.85
    assert overlap(WIRE, SAME_EVENT) < 0.1
    assert overlap(WIRE, UNRELATED) < 0.02


def test_a_trimmed_copy_overlaps_wholly():
    trimmed = WIRE.rsplit(". ", 3)[0] + "."
    assert overlap(WIRE, trimmed) == 1.0
    assert is_copy(fingerprint(WIRE), fingerprint(trimmed), bits=NEAR_BITS)


def test_hamming_and_is_copy_edges():
    assert hamming(0, -1) == 64
    assert hamming(-(2**63), 2**63 - 1) == 64
    assert hamming(5, 4) == 1
    assert not is_copy(0, 0)  # no fingerprint is no copy
    value = fingerprint(WIRE)
    assert is_copy(value, value ^ (2**COPY_BITS - 1))
    assert not is_copy(value, value ^ (2 ** (COPY_BITS + 1) - 1))
    assert overlap("", WIRE) == 0.0


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(
        r"\Ahttps?://[A-Za-z0-9.-]{1,20}(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]{0,20})?(\?[A-Za-z0-9_=&%+.-]{0,40})?(#\w{0,5})?\Z"
    )
)
def test_canonical_url_is_idempotent_and_keeps_no_fragment_nor_tracking(url):
    try:
        once = canonical_url(url)
    except ValueError:
        return  # a port out of range
    assert canonical_url(once) == once
    parts = urlsplit(once)
    assert parts.fragment == "" and "#" not in once
    names = [pair.partition("=")[0].lower() for pair in parts.query.split("&")]
    assert not any(name.startswith("utm_") or name in ("fbclid", "gclid", "ref") for name in names)


def test_a_broken_canonical_link_is_no_canonical_link():
    html = (
        '<html><head><link rel="canonical" href="https://[broken/a"></head><body><p>Text.</p></body></html>'
    )
    assert extract(html, "https://m.example/a").canonical_url == ""
