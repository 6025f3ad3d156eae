"""A feed's address as it is added (admin, `feeds add`, the import): one feed is not added twice under
two spellings, and what the fetcher would refuse for its form (a user name and password, a port
out of range) is refused when the feed is added, with the reason, not at its first fetch."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.forms import modelform_factory

from articles.transfer.importing import ImportFailed, import_file
from newsdesk.models import Feed
from newsdesk.models.feeds import feed_address
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

STORED = "http://feeds.example/news/rss.xml"
SPELLINGS = [
    "HTTP://Feeds.Example/news/rss.xml",
    "http://feeds.example:80/news/rss.xml",
    "http://feeds.example/news/rss.xml#latest",
    "http://feeds.example/news/rss.xml?",
]
REFUSED = [
    ("https://editor:secret@feeds.example/rss", "Leave out the user name and password"),
    ("https://feeds.example:99999/rss", "The port must be a number from 1 to 65535"),
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_spellings_of_one_address_are_one_address(spelling):
    assert feed_address(spelling) == STORED


def test_the_path_and_query_are_kept_as_written():
    assert feed_address("https://x.example/News/RSS?Edition=UK") == "https://x.example/News/RSS?Edition=UK"
    assert feed_address("https://x.example") == "https://x.example/"
    assert feed_address("http://[::1]:8080/f") == "http://[::1]:8080/f"
    assert feed_address("https://x.example:8443/f") == "https://x.example:8443/f"


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_feeds_add_finds_the_feed_under_another_spelling(spelling):
    outlet = SourceFactory(domain="feeds.example")
    feed = Feed.objects.create(outlet=outlet, url=STORED)
    with pytest.raises(CommandError, match=f"{STORED} is already feed #{feed.pk}"):
        call_command("feeds", "add", spelling, "--outlet", "feeds.example")
    assert Feed.objects.count() == 1


def test_feeds_add_stores_the_address_in_its_one_spelling():
    SourceFactory(domain="feeds.example")
    call_command("feeds", "add", SPELLINGS[0], "--outlet", "feeds.example")
    assert list(Feed.objects.values_list("url", flat=True)) == [STORED]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_feeds_add_refuses_what_the_fetcher_would_refuse(url, message):
    SourceFactory(domain="feeds.example")
    with pytest.raises(CommandError, match=message):
        call_command("feeds", "add", url, "--outlet", "feeds.example")
    assert not Feed.objects.exists()


def admin_form(data):
    # The admin's form is a ModelForm of these fields: full_clean, then validate_unique.
    return modelform_factory(Feed, fields=["outlet", "url", "active"])(data)


def test_the_admin_form_refuses_another_spelling_of_a_feed_and_stores_one():
    outlet = SourceFactory(domain="feeds.example")
    Feed.objects.create(outlet=outlet, url=STORED)
    form = admin_form({"outlet": outlet.pk, "url": SPELLINGS[0], "active": "on"})
    assert not form.is_valid()
    assert "already exists" in str(form.errors["url"])
    form = admin_form({"outlet": outlet.pk, "url": "HTTPS://Feeds.Example:443/world#x", "active": "on"})
    assert form.is_valid(), form.errors
    assert form.save().url == "https://feeds.example/world"


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_the_admin_form_refuses_what_the_fetcher_would_refuse(url, message):
    outlet = SourceFactory(domain="feeds.example")
    form = admin_form({"outlet": outlet.pk, "url": url, "active": "on"})
    assert not form.is_valid()
    assert message in str(form.errors["url"])


def import_feeds(tmp_path, feeds):
    path = tmp_path / "outlets.json"
    outlet = {"name": "Feeds", "domain": "feeds.example", "homepage": "https://feeds.example/"}
    path.write_text(json.dumps({"sources": [{**outlet, "feeds": feeds}]}))
    return import_file(path)


def test_an_import_stores_one_spelling_and_sees_a_feed_listed_twice(tmp_path):
    twice = rf"'feeds'\[1\]: '{STORED}' is listed twice"
    with pytest.raises(ImportFailed, match=twice):
        import_feeds(tmp_path, [STORED, SPELLINGS[0]])
    assert not Feed.objects.exists()
    for spelling in [SPELLINGS[2], SPELLINGS[1], STORED]:  # the same feed each time: added once
        import_feeds(tmp_path, [spelling])
    assert list(Feed.objects.values_list("url", flat=True)) == [STORED]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_an_import_refuses_what_the_fetcher_would_refuse(tmp_path, url, message):
    with pytest.raises(ImportFailed) as failed:
        import_feeds(tmp_path, [url])
    assert f"field 'feeds'[0]: {message}" in str(failed.value)
    assert "secret" not in str(failed.value)  # a password is not echoed to the terminal
    assert not Feed.objects.exists()
