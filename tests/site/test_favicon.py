"""/favicon.ico answers with the site's icon (static/img/favicon.ico, drawn from favicon.svg), kept
long by browsers, with no database query and never stored by the page cache; every page that names an
icon names the SVG one, the lockout page included."""

import io

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

URL = "/favicon.ico"
ICON_LINK = '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">'


def test_the_address_is_the_one_browsers_ask_for():
    assert reverse("articles:favicon") == URL


def test_favicon_is_the_sites_icon_kept_long(client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert response["Cache-Control"] == "public, max-age=2592000"
    assert response.content == (settings.BASE_DIR / "static" / "img" / "favicon.ico").read_bytes()
    with Image.open(io.BytesIO(response.content)) as icon:
        assert icon.format == "ICO"
        assert icon.info["sizes"] == {(16, 16), (32, 32), (48, 48)}
        # Drawn from the SVG: its dark square (#15202b) fills the middle of the left edge.
        icon.size = (32, 32)
        assert icon.convert("RGBA").getpixel((1, 16)) == (0x15, 0x20, 0x2B, 255)


def test_asked_again_it_is_a_304(client):
    etag = client.get(URL)["ETag"]
    again = client.get(URL, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_no_query_and_no_page_cache(client, editor, settings, django_assert_num_queries):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    signed_in = signed_in_client(editor)
    with django_assert_num_queries(0):
        for visitor in (client, client, signed_in):
            for response in (visitor.get(URL), visitor.head(URL)):
                assert response.status_code == 200
                # The page cache marks what it serves or stores, and would set its own Cache-Control.
                assert "X-Page-Cache" not in response
                assert response["Cache-Control"] == "public, max-age=2592000"
                assert "Set-Cookie" not in response and "cookie" not in response.get("Vary", "").lower()


def test_feeds_and_sitemaps_have_it_at_their_root(client):
    for url in (reverse("articles:feed_rss"), reverse("articles:sitemap_index")):
        assert client.get(url).status_code == 200
    assert client.get(URL).status_code == 200


def test_the_lockout_page_names_the_icon_like_the_other_pages(client):
    page = render_to_string(
        "429.html",
        {"site_name": "newsapp", "account": True, "address": True, "until": timezone.now(), "minutes": 15},
    )
    assert ICON_LINK in page
    assert ICON_LINK in client.get("/").content.decode()
