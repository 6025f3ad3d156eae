"""Responsive lead images: renditions made once at save time, <picture> with srcset, sizes, width and
height, lazy loading below the fold only, and no page view that writes a file."""

import re
from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from tests.factories import ArticleFactory, ArticleSourceFactory, CategoryFactory, SourceFactory, image_bytes

pytestmark = pytest.mark.django_db

SMALL = (200, 100)  # enough for a card's picture, quick to make renditions of


def lead_image(size=(2000, 1000)):
    return ContentFile(image_bytes("JPEG", size), name="lead.jpg")


def pictured(size=(2000, 1000), **kwargs):
    return ArticleFactory(image=lead_image(size), image_alt="A wide red picture", **kwargs)


class Pictures(HTMLParser):
    """Every <picture> in the page, in order: its <source> and <img> attributes."""

    def __init__(self, html):
        super().__init__()
        self.pictures, self._current = [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "picture":
            self._current = {"sources": []}
            self.pictures.append(self._current)
        elif self._current is not None and tag == "source":
            self._current["sources"].append(dict(attrs))
        elif self._current is not None and tag == "img":
            self._current["img"] = dict(attrs)

    def handle_endtag(self, tag):
        if tag == "picture":
            self._current = None


def pictures(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return Pictures(response.content.decode()).pictures


def srcset(value):
    """{width: url} from a srcset attribute."""
    return {int(w): url for url, w in re.findall(r"(\S+) (\d+)w", value)}


def lazy(picture):
    return picture["img"].get("loading") == "lazy"


def test_renditions_are_made_at_save_time_in_three_widths_and_two_formats(media_root, media_files):
    article = pictured()
    assert set(article.renditions) == {"thumb", "480", "960", "1440"}
    for width in (480, 960, 1440):
        entry = article.renditions[str(width)]
        assert (entry["w"], entry["h"]) == (width, width // 2)
        for ext, fmt in (("jpg", "JPEG"), ("webp", "WEBP")):
            with Image.open(media_root / entry[ext]) as img:
                assert (img.format, img.size) == (fmt, (width, width // 2))
            assert entry[f"{ext}_bytes"] == (media_root / entry[ext]).stat().st_size
    files = media_files()
    assert len(files) == 1 + 4 * 2  # the original, then JPEG + WebP for the thumbnail and each width
    article.title = "A new title"
    article.save()
    assert media_files() == files


def test_article_page_lead_picture_is_responsive_and_loads_first(client, media_root):
    article = pictured()
    lead = pictures(client, article.get_absolute_url())[0]
    [webp] = lead["sources"]
    img = lead["img"]
    assert webp["type"] == "image/webp"
    webp_set, jpeg_set = srcset(webp["srcset"]), srcset(img["srcset"])
    assert sorted(webp_set) == sorted(jpeg_set) == [480, 960, 1440]
    for width, url in [*webp_set.items(), *jpeg_set.items()]:
        with Image.open(media_root / url.removeprefix("/media/")) as picture:
            assert picture.width == width
    assert webp["sizes"] == img["sizes"]
    assert "vw" in img["sizes"]
    assert (img["width"], img["height"]) == ("960", "480")
    assert img["src"] == jpeg_set[960]
    assert img["alt"] == "A wide red picture"
    assert "loading" not in img
    assert img["fetchpriority"] == "high"


def test_related_story_pictures_are_lazy(client):
    article = pictured()
    outlet = SourceFactory()
    ArticleSourceFactory(article=article, source=outlet)
    for _ in range(3):
        ArticleSourceFactory(article=pictured(size=SMALL, category=article.category), source=outlet)
    lead, *related = pictures(client, article.get_absolute_url())
    assert not lazy(lead)
    assert len(related) == 3
    assert all(lazy(p) and "fetchpriority" not in p["img"] for p in related)


def test_home_lead_card_is_not_lazy_and_the_cards_below_are(client):
    world = CategoryFactory(slug="world")
    for _ in range(3):
        pictured(size=SMALL, category=world)
    pictured(category=world, featured=True)
    lead, *below = pictures(client, reverse("articles:home"))
    assert not lazy(lead)
    assert len(below) >= 3
    assert all(lazy(p) for p in below)
    assert all(p["img"].get("width") and p["img"].get("height") for p in [lead, *below])


@pytest.mark.parametrize("surface", ["section", "source", "more"])
def test_listings_load_their_first_picture_eagerly_and_the_rest_lazily(client, surface):
    outlet = SourceFactory(slug="the-outlet")
    stories = [pictured(size=SMALL) for _ in range(21)]
    for article in stories:
        ArticleSourceFactory(article=article, source=outlet)
    url = {
        "section": reverse("articles:section", kwargs={"section": "world"}),
        "source": reverse("articles:source", kwargs={"slug": "the-outlet"}),
        "more": reverse("articles:home") + "?page=2",
    }[surface]
    first, *rest = pictures(client, url)
    assert not lazy(first)
    assert rest
    assert all(lazy(p) for p in rest)


def test_page_views_never_write_a_file(client, media_files, make_image):
    outlet = SourceFactory(with_logo=True)
    stories = [
        pictured(SMALL, category=CategoryFactory(slug=slug)) for slug in ("world", "politics", "world")
    ]
    for article in stories:
        ArticleSourceFactory(article=article, source=outlet)
    before = media_files()
    assert before
    urls = [
        reverse("articles:home"),
        reverse("articles:home") + "?page=1",
        reverse("articles:section", kwargs={"section": "world"}),
        *(article.get_absolute_url() for article in stories),
        outlet.get_absolute_url(),
        reverse("articles:search") + "?q=story",
        reverse("articles:feed_rss"),
        reverse("articles:feed_atom"),
        reverse("articles:sitemap_index"),
        reverse("articles:news_sitemap"),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert media_files() == before
