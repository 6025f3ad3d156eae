"""Rich previews (canonical URL, description, Open Graph, Twitter cards), the article's JSON-LD, and
the "Updated" line with the modification times that search engines and feeds are told."""

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from articles.models import Article
from tests.admin.test_admin import CHANGELIST, browser_post
from tests.factories import (
    ArticleFactory,
    ArticleSourceFactory,
    CategoryFactory,
    SourceFactory,
    image_bytes,
    import_one_story,
)

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
PUBLISHED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
MODIFIED = datetime(2026, 1, 6, 14, 0, tzinfo=UTC)


class Head(HTMLParser):
    """What a crawler reads from <head>: meta tags, canonical links and JSON-LD blocks."""

    def __init__(self, html):
        super().__init__()
        self.meta, self.canonical, self.scripts = {}, [], []
        self._in_head, self._script = False, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("head", "body"):
            self._in_head = tag == "head"
        if tag == "script":
            self._script = {"type": a.get("type"), "src": a.get("src"), "text": "", "in_head": self._in_head}
            self.scripts.append(self._script)
        elif self._in_head and tag == "meta" and "content" in a:
            key = a.get("property") or a.get("name")
            if key:
                self.meta.setdefault(key, []).append(a["content"])
        elif self._in_head and tag == "link" and a.get("rel") == "canonical":
            self.canonical.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data

    def one(self, key):
        values = self.meta.get(key, [])
        assert len(values) == 1, f"{key}: {values}"
        return values[0]

    def json_ld(self):
        blocks = [s for s in self.scripts if s["type"] == "application/ld+json"]
        assert len(blocks) == 1
        assert blocks[0]["in_head"]
        return json.loads(blocks[0]["text"])


def head(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return Head(response.content.decode())


def at(value):
    return datetime.fromisoformat(value).astimezone(UTC)


@pytest.fixture
def newsroom():
    outlet = SourceFactory(name="Daily Example", domain="daily.example")
    article = ArticleFactory(
        title="Talks resume in Geneva",
        category=CategoryFactory(slug="politics"),
        summary="Delegates met again on **Monday**.\n\nA deal may follow.",
        published_at=PUBLISHED,
        modified_at=MODIFIED,
        image=ContentFile(image_bytes("JPEG", (2000, 1000)), name="lead.jpg"),
        image_alt="Delegates at a table",
    )
    for n in (1, 2):
        ArticleSourceFactory(article=article, source=outlet, url=f"https://daily.example/talks-{n}")
    ArticleFactory.create_batch(20)  # a second page of stories on the front page
    return {"article": article, "outlet": outlet}


PAGES = {
    "home": (lambda n: reverse("articles:home"), "newsapp", "News from every side"),
    "home-page-2": (
        lambda n: reverse("articles:home") + "?page=2",
        "More stories, page 2 of 2",
        "Every section",
    ),
    "section": (lambda n: "/politics/", "Politics", "Parliaments, elections and policy"),  # its description
    "article": (lambda n: n["article"].get_absolute_url(), "Talks resume in Geneva", "Delegates met again"),
    "source": (lambda n: n["outlet"].get_absolute_url(), "Daily Example", "Stories drawing on Daily Example"),
    "search": (lambda n: reverse("articles:search") + "?q=talks", "Search", "Search every published story"),
}


@pytest.mark.parametrize("name", PAGES)
def test_every_public_page_has_a_rich_preview(client, newsroom, name):
    url, title, description = PAGES[name]
    url = url(newsroom)
    tags = head(client, f"{url}{'&' if '?' in url else '?'}utm_source=newsletter")
    canonical = f"{BASE}{url}".removesuffix("?q=talks")  # search terms and tracking are not the page
    assert tags.canonical == [canonical]
    assert tags.one("og:url") == canonical
    assert tags.one("description").startswith(description)
    assert tags.one("og:title") == tags.one("twitter:title") == title
    assert tags.one("og:description") == tags.one("twitter:description")
    assert tags.one("og:description").startswith(description)
    assert tags.one("og:site_name") == "newsapp"
    assert tags.one("og:type") == ("article" if name == "article" else "website")
    assert tags.one("twitter:card") == "summary_large_image"
    assert tags.one("og:image") == tags.one("twitter:image")
    assert tags.one("og:image").startswith(f"{BASE}/")
    assert int(tags.one("og:image:width")) >= 1200
    assert int(tags.one("og:image:height")) > 0
    assert tags.one("og:image:alt")


def test_article_preview_has_its_section_times_and_its_own_lead_image(client, newsroom, media_root):
    tags = head(client, newsroom["article"].get_absolute_url())
    assert tags.one("article:section") == "Politics"
    assert at(tags.one("article:published_time")) == PUBLISHED
    assert at(tags.one("article:modified_time")) == MODIFIED
    assert tags.one("og:image:alt") == "Delegates at a table"
    picture = media_root / tags.one("og:image").removeprefix(f"{BASE}/media/")
    with Image.open(picture) as img:
        assert img.format == "JPEG"
        assert img.size == (int(tags.one("og:image:width")), int(tags.one("og:image:height"))) == (1440, 720)


def test_a_lead_image_narrower_than_1440_previews_at_its_full_width(client, media_root):
    article = ArticleFactory(
        image=ContentFile(image_bytes("JPEG", (1200, 600)), name="lead.jpg"), image_alt="x"
    )
    tags = head(client, article.get_absolute_url())
    assert (tags.one("og:image:width"), tags.one("og:image:height")) == ("1200", "600")
    assert (media_root / tags.one("og:image").removeprefix(f"{BASE}/media/")).is_file()


def test_a_story_without_an_image_previews_with_the_site_image(client, settings):
    tags = head(client, ArticleFactory().get_absolute_url())
    assert tags.one("og:image") == f"{BASE}/static/img/og-default.png"
    with Image.open(settings.BASE_DIR / "static" / "img" / "og-default.png") as img:
        assert img.size == (int(tags.one("og:image:width")), int(tags.one("og:image:height")))


def test_a_later_page_is_its_own_canonical_page(client):
    ArticleFactory.create_batch(21)
    assert head(client, "/world/?page=2").canonical == [f"{BASE}/world/?page=2"]
    assert head(client, "/world/?page=1").canonical == [f"{BASE}/world/"]


# --- JSON-LD NewsArticle -----------------------------------------------------------------------------


def test_article_has_a_news_article_json_ld(client, newsroom):
    article = newsroom["article"]
    tags = head(client, article.get_absolute_url())
    data = tags.json_ld()
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Talks resume in Geneva"
    assert data["mainEntityOfPage"] == f"{BASE}{article.get_absolute_url()}"
    assert at(data["datePublished"]) == PUBLISHED
    assert at(data["dateModified"]) == MODIFIED
    assert data["articleSection"] == "Politics"
    assert data["publisher"]["@type"] == "Organization"
    assert data["publisher"]["name"] == "newsapp"
    assert data["publisher"]["logo"]["url"].startswith(f"{BASE}/static/")
    assert data["isBasedOn"] == ["https://daily.example/talks-1", "https://daily.example/talks-2"]
    image = data["image"]
    assert (image["url"], str(image["width"]), str(image["height"])) == (
        tags.one("og:image"),
        tags.one("og:image:width"),
        tags.one("og:image:height"),
    )


def test_a_story_never_updated_was_modified_when_published(client):
    data = head(client, ArticleFactory(published_at=PUBLISHED).get_absolute_url()).json_ld()
    assert at(data["datePublished"]) == at(data["dateModified"]) == PUBLISHED
    assert "image" not in data


def test_a_hostile_title_stays_inside_the_json_ld_block(client):
    title = "</script><script>alert(1)</script> <!--<script> & \u2028 “quotes”"
    article = ArticleFactory(title=title)
    response = client.get(article.get_absolute_url())
    html = response.content.decode()
    tags = Head(html)
    assert tags.json_ld()["headline"] == title
    # Nothing else became a script: any other <script> is an empty one loading a file.
    others = [s for s in tags.scripts if s["type"] != "application/ld+json"]
    assert all(s["src"] and not s["text"].strip() for s in others)
    assert "<script>alert(1)</script>" not in html


# --- "Updated": shown when a live story's content changes, and only then ------------------------------

UPDATED = re.compile(r'Updated <time datetime="([^"]+)"')


def updated(client, article):
    """The time of the story page's "Updated" line, or None when there is none."""
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    match = UPDATED.search(response.content.decode())
    return at(match.group(1)) if match else None


def change(editor_client, article, **fields):
    url = reverse("admin:articles_article_change", args=[article.pk])
    response = browser_post(editor_client, url, **fields)
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.mark.parametrize(
    "fields",
    [{"title": "Talks resume, deal in sight"}, {"summary": "Delegates met again.\n\nA deal is close."}],
    ids=["title", "summary"],
)
def test_editing_a_live_story_in_the_admin_shows_when_it_was_updated(client, editor_client, fields):
    article = ArticleFactory(published_at=PUBLISHED)
    before = timezone.now().replace(microsecond=0)
    change(editor_client, article, **fields)
    after = timezone.now()
    when = updated(client, article)
    assert when is not None
    assert before <= when <= after
    article.refresh_from_db()
    assert article.modified_at.replace(microsecond=0) == when
    tags = head(client, article.get_absolute_url())
    assert at(tags.one("article:modified_time")) == article.modified_at
    assert at(tags.json_ld()["dateModified"]) == article.modified_at
    assert at(tags.one("article:published_time")) == PUBLISHED


def test_saving_a_live_story_without_changes_is_not_an_update(client, editor_client):
    article = ArticleFactory(published_at=PUBLISHED)
    change(editor_client, article)
    assert updated(client, article) is None


def test_writing_and_publishing_a_draft_is_not_an_update(client, editor_client):
    article = ArticleFactory(draft=True, title="First go")
    change(editor_client, article, title="Second go")
    change(editor_client, article, summary="Ready now.")
    change(editor_client, article, status="published")
    assert Article.objects.published().filter(pk=article.pk).exists()
    assert updated(client, article) is None


def test_bulk_publishing_is_not_an_update(client, editor_client):
    article = ArticleFactory(draft=True)
    editor_client.post(
        CHANGELIST, {"action": "publish_selected", "_selected_action": [article.pk], "index": "0"}
    )
    assert updated(client, article) is None


def test_editing_a_scheduled_story_before_it_goes_live_is_not_an_update(client, editor_client):
    article = ArticleFactory(scheduled=True)
    change(editor_client, article, title="Better headline")
    Article.objects.filter(pk=article.pk).update(published_at=timezone.now() - timedelta(minutes=1))
    assert updated(client, article) is None


def test_reimporting_a_changed_live_story_shows_the_update(client, tmp_path):
    def run(summary):
        import_one_story(tmp_path, summary=summary)
        return Article.objects.get(slug="harbour-strike")

    article = run("Dockers return to work.")
    assert updated(client, article) is None  # a new story
    run("Dockers return to work.")
    assert updated(client, article) is None  # the same file again changes nothing
    before = timezone.now().replace(microsecond=0)
    run("Dockers return to work on Monday.")
    assert before <= updated(client, article) <= timezone.now()
