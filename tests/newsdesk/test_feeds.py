"""Feeds read into one shape: RSS 0.91, 1.0 (RDF), 2.0, Atom and JSON Feed, with a clear error for
what is no feed (an HTML page, broken XML, another JSON, items without links)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.feeds import MAX_ITEMS, FeedError, html_text, language_tag, parse_feed

FIXTURES = Path(__file__).parent / "fixtures"
FETCHED_AT = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def parse(name, content_type="application/xml", url=None):
    body = (FIXTURES / name).read_bytes()
    return parse_feed(
        body, content_type=content_type, url=url or f"https://feeds.example/{name}", fetched_at=FETCHED_AT
    )


def test_rss_091_items_without_dates_are_published_at_the_fetch():
    feed = parse("rss091.xml", "application/rss+xml")
    assert (feed.format, feed.title, feed.language) == ("rss091n", "Harbour Gazette", "en-gb")
    assert [item.title for item in feed.items] == [
        "Ferry timetable changes from Monday",
        "Café reopens after flood repairs",
    ]
    first = feed.items[0]
    assert first.url == "https://gazette.example/news/ferry-timetable"
    assert first.published_at == FETCHED_AT and first.dated is False
    assert first.text.startswith("The council confirmed that the early ferry")
    assert first.language == "en-gb"


def test_rss_10_rdf_with_dublin_core_author_date_and_language():
    feed = parse("rss10.rdf", "application/rdf+xml")
    assert feed.format == "rss10"
    bridge = feed.items[0]
    assert bridge.url == "https://valley.example/2026/03/bridge"
    assert bridge.title == "Neue Brücke eröffnet"
    assert bridge.author == "Anna Berg"
    assert bridge.published_at == datetime(2026, 3, 3, 8, 30, tzinfo=UTC)
    assert bridge.language == "de"


def test_rss_20_full_text_images_and_an_item_without_link_left_out():
    feed = parse("rss20.xml", "application/rss+xml")
    assert feed.format == "rss20"
    assert len(feed.items) == 3 and feed.skipped == 1
    tram, library, marathon = feed.items
    assert tram.title == "Council approves & funds new tram line"
    # Tracking parameters stay here: canonical_url is the pieces' concern.
    assert tram.url == "https://metro.example/news/tram-line?utm_source=rss&utm_medium=feed"
    assert tram.author == "Priya Shah"
    assert tram.published_at == datetime(2026, 3, 4, 8, 15, tzinfo=UTC)
    # content:encoded (longer) wins over the description; HTML stripped, script left out, paragraphs kept.
    assert tram.text == (
        "The city council voted 31 to 12 on Tuesday night to fund the east tram line.\n"
        "Construction is due to begin next spring."
    )
    assert tram.image_url == "https://metro.example/img/tram.jpg"  # media:content
    assert library.author == "Tom Reed"  # "email (Name)"
    assert library.image_url == "https://metro.example/img/library-thumb.jpg"  # media:thumbnail
    assert marathon.image_url == "https://metro.example/img/marathon.jpg"  # image enclosure
    assert marathon.author == ""


def test_atom_html_title_content_enclosure_and_per_entry_language():
    feed = parse("atom.xml", "application/atom+xml")
    assert (feed.format, feed.language) == ("atom10", "fr")
    port, updated = feed.items
    assert port.title == "Le port rouvre"
    assert port.url == "https://lac.example/articles/port-rouvre"
    assert port.author == "Claire Martin"
    assert port.published_at == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)  # published, not updated
    assert port.text.splitlines() == [
        "Le port de la ville a rouvert mardi après deux semaines de travaux.",
        "Les bateaux reprennent leur service.",
    ]
    assert port.image_url == "https://lac.example/img/port.jpg"
    assert port.language == "fr"
    assert updated.published_at == datetime(2026, 3, 4, 18, 0, tzinfo=UTC) and updated.dated
    assert updated.language == "en"


def test_json_feed_11_authors_attachments_relative_url_and_item_without_url():
    feed = parse("feed.json", "application/feed+json")
    assert (feed.format, feed.title, feed.language, feed.skipped) == ("json11", "Northern Ledger", "en-gb", 1)
    wind, rail = feed.items
    assert wind.author == "Mara Quinn, Ed Hale"
    assert wind.text == "Ministers approved the offshore wind farm on Thursday.\nIt will power 400,000 homes."
    assert wind.image_url == "https://ledger.example/img/wind.jpg"
    assert wind.published_at == datetime(2026, 3, 5, 11, 20, tzinfo=UTC)
    # Relative to the home page; version 1.0's single author; an image attachment.
    assert rail.url == "https://ledger.example/2026/03/05/rail-strike"
    assert rail.author == "Sam Cole"
    assert rail.image_url == "https://ledger.example/img/rail.png"
    assert rail.text == "The union called off Friday's strike after talks."


def test_json_feed_recognised_by_its_body_whatever_the_content_type():
    feed = parse("feed.json", "text/plain")
    assert len(feed.items) == 2


def test_relative_links_resolved_against_the_feed_url_and_bad_dates_are_the_fetch_time():
    feed = parse("no-dates-relative.xml", url="https://hill.example/feeds/all.xml")
    assert [item.url for item in feed.items] == [
        "https://hill.example/news/snow-pass",
        "https://hill.example/feeds/news/bakery-prize",
    ]
    assert all(item.published_at == FETCHED_AT and not item.dated for item in feed.items)


def test_a_date_in_the_future_is_the_fetch_time():
    body = (FIXTURES / "rss20.xml").read_bytes()
    feed = parse_feed(
        body,
        content_type="application/rss+xml",
        url="https://m.example/",
        fetched_at=datetime(2026, 3, 4, 0, 0, tzinfo=UTC),
    )
    assert feed.items[0].published_at == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    assert feed.items[1].published_at == datetime(2026, 3, 3, 17, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b"<!DOCTYPE html>\n<html><head><title>Metro</title></head><body><p>Hi</p></body></html>",
            "an HTML page",
        ),
        (b"  <!-- served by x -->\n<html lang='en'><body>Hi</body></html>", "an HTML page"),
        (
            b"<?xml version='1.0'?>\n<rss version='2.0'><channel><title>x</title><item><title>a",
            "not well-formed XML",
        ),
        (b"this is not XML at all", "not well-formed XML"),
        (b" \r\n", "an empty body"),
        (b"<?xml version='1.0'?><catalog><book>A</book></catalog>", "not a feed"),
        (b'{"items": []}', "not a JSON Feed"),
        (b"{not json", "not valid JSON"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', "without a list of items"),
        (
            b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title>"
            b"<item><title>a</title><guid isPermaLink='false'>1</guid></item>"
            b"<item><title>b</title><link>javascript:alert(1)</link></item></channel></rss>",
            "none of the feed's 2 items has a web link",
        ),
    ],
)
def test_what_is_no_feed_is_refused_with_a_reason(body, reason):
    with pytest.raises(FeedError) as caught:
        parse_feed(body, content_type="application/xml", url="https://x.example/feed", fetched_at=FETCHED_AT)
    assert caught.value.reason.startswith(reason) or reason in caught.value.reason


def test_html_without_a_doctype_served_as_html_is_an_html_page():
    with pytest.raises(FeedError, match="an HTML page"):
        parse_feed(
            b"<div><p>Hello</p></div>",
            content_type="text/html",
            url="https://x.example/",
            fetched_at=FETCHED_AT,
        )


def test_a_valid_feed_without_items_is_no_error():
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Quiet</title></channel></rss>"
    feed = parse_feed(
        body, content_type="application/rss+xml", url="https://x.example/", fetched_at=FETCHED_AT
    )
    assert (feed.title, feed.items, feed.skipped) == ("Quiet", [], 0)


def test_a_feed_served_as_text_html_is_still_read():
    feed = parse("rss20.xml", "text/html")
    assert len(feed.items) == 3


def test_at_most_max_items_are_read():
    items = [{"url": f"https://big.example/{n}", "title": f"Item {n}"} for n in range(MAX_ITEMS + 50)]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()
    feed = parse_feed(
        body, content_type="application/feed+json", url="https://big.example/", fetched_at=FETCHED_AT
    )
    assert len(feed.items) == MAX_ITEMS
    assert feed.items[-1].url == f"https://big.example/{MAX_ITEMS - 1}"


def test_an_item_without_title_takes_its_first_words():
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "items": [{"url": "https://m.example/1", "content_text": " ".join(f"w{n}" for n in range(40))}],
        }
    ).encode()
    (item,) = parse_feed(
        body, content_type="application/json", url="https://m.example/", fetched_at=FETCHED_AT
    ).items
    assert item.title == " ".join(f"w{n}" for n in range(16))


def test_html_text_keeps_paragraphs_and_drops_markup():
    html = (
        "<div><p>One &amp; <b>two</b></p><ul><li>three</li><li>four</li></ul>five<script>x()</script></div>"
    )
    assert html_text(html) == "One & two\nthree\nfour\nfive"
    assert html_text("plain &lt;text&gt;") == "plain <text>"


FEED_START = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><item><title>",
    b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><link href='",
    b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": ',
    b"",
    b"<?xml version='1.0' encoding='utf\x00-8'?><rss version='2.0'><channel><item><title>",
    b"<rss version='2.0'><channel><item><link>https://x.example/a\x00b</link><title>",
)


@settings(max_examples=300, deadline=None)
@given(
    start=st.sampled_from(FEED_START),
    rest=st.binary(max_size=400),
    content_type=st.sampled_from(["application/xml", "application/json", "text/html", ""]),
)
def test_any_body_is_a_feed_or_a_feed_error(start, rest, content_type):
    try:
        feed = parse_feed(
            start + rest, content_type=content_type, url="https://x.example/f", fetched_at=FETCHED_AT
        )
    except FeedError as error:
        assert error.reason and "\n" not in error.reason
    else:
        for item in feed.items:
            assert item.url.startswith(("http://", "https://")) and item.published_at.tzinfo
            # Nothing PostgreSQL would refuse to store.
            assert not any(
                "\x00" in value for value in (item.url, item.title, item.author, item.text, item.image_url)
            )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_html_text_of_anything_is_text(html):
    assert isinstance(html_text(html), str)


@pytest.mark.parametrize(
    ("value", "tag"),
    [("en-GB", "en-gb"), ("en_US", "en-us"), ("fr, en", "fr"), ("English", ""), ("", ""), (None, "")],
)
def test_language_tags(value, tag):
    assert language_tag(value) == tag


def test_addresses_with_spaces_or_line_breaks_are_read_as_browsers_do():
    body = (
        b"<rss version='2.0'><channel><item><title>a</title><link>/news/two words\n/page</link></item>"
        b"<item><title>b</title><guid isPermaLink='true'>https://x.example/b\x01</guid></item></channel></rss>"
    )
    feed = parse_feed(
        body, content_type="application/rss+xml", url="https://x.example/", fetched_at=FETCHED_AT
    )
    assert [item.url for item in feed.items] == ["https://x.example/news/two%20words/page"]
    assert feed.skipped == 1
