"""Media on object storage, seen by editors and readers: a picture uploaded through the admin is in the
bucket with every size made of it; pages link the bucket's address; and rendering any page asks the
bucket nothing (every request reaching the S3 server is counted by tests/media/s3server.py)."""

import re
import urllib.request
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from articles.models import Article, Source
from tests.admin.test_admin import ADD, browser_post, citations, story
from tests.factories import BiasRatingFactory, image_bytes
from tests.media.conftest import use_bucket

pytestmark = pytest.mark.django_db

SOURCE_ADD = reverse("admin:articles_source_add")


def lead_image(name="pier.jpg", size=(1600, 900), color=(20, 90, 160)):
    return SimpleUploadedFile(name, image_bytes("JPEG", size, color=color), content_type="image/jpeg")


def add_outlet(client, **extra) -> Source:
    logo = SimpleUploadedFile("gazette.png", image_bytes("PNG", (300, 150)), content_type="image/png")
    fields = {
        "name": "Harbour Gazette",
        "slug": "harbour-gazette",
        "domain": "harbour.example",
        "homepage": "https://harbour.example/",
        "logo": logo,
    } | extra
    response = browser_post(client, SOURCE_ADD, form_id="source_form", **fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Source.objects.get(slug=fields["slug"])


def add_story(client, *, outlets=(), **extra) -> Article:
    fields = story(
        image=lead_image(), image_alt="A pier at dawn", image_credit="Agency", status="published"
    ) | citations(*outlets)
    response = browser_post(client, ADD, **(fields | extra))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Article.objects.get(slug=(fields | extra)["slug"])


def stored_names(article: Article) -> set[str]:
    sizes = {entry[ext] for entry in article.renditions.values() for ext in ("jpg", "webp")}
    return {article.image.name} | sizes


def logo_names(source: Source) -> set[str]:
    return {source.logo.name, source.logo_small["png"], source.logo_small["webp"]}


def public_pages(article: Article, source: Source) -> dict[str, str]:
    """Every kind of public answer that could show a picture or its size."""
    section = {"section": article.category.slug}
    return {
        "front page": reverse("articles:home"),
        "section": reverse("articles:section", kwargs=section),
        "article": article.get_absolute_url(),
        "outlet": source.get_absolute_url(),
        "outlets": reverse("articles:sources"),
        "search": reverse("articles:search") + "?q=pier",
        "rss": reverse("articles:feed_rss"),
        "atom": reverse("articles:feed_atom"),
        "section rss": reverse("articles:section_feed_rss", kwargs=section),
        "sitemap index": reverse("articles:sitemap_index"),
        "news sitemap": reverse("articles:news_sitemap"),
        "story sitemap": reverse(
            "articles:sitemap_month",
            kwargs={"year": f"{article.published_at:%Y}", "month": f"{article.published_at:%m}"},
        ),
        "balance": reverse("coverage:balance"),
        "blindspot": reverse("coverage:blindspot"),
        "methodology": reverse("coverage:methodology"),
        "api stories": reverse("api:story-list"),
        "api story": reverse("api:story-detail", args=[article.pk]),
        "api outlets": reverse("api:outlet-list"),
        "api outlet": reverse("api:outlet-detail", args=[source.slug]),
        "api sections": reverse("api:section-list"),
        "api blindspots": reverse("api:blindspots"),
        "blindspot rss": reverse("coverage:blindspot_rss"),
        "stories.json": reverse("api:stories-json"),
        "outlets.csv": reverse("api:outlets-csv"),
    }


def picture_links(html: str) -> list[str]:
    """Every address of an uploaded picture in an src, srcset or og:image of the page (the site's own
    pictures, under /static/, aside)."""
    found = []
    for attribute in re.findall(r'(?:src|srcset|content)="([^"]*)"', html):
        for candidate in unescape(attribute).split(","):
            address = candidate.strip().split(" ")[0]
            uploaded = address.startswith(("http://", "https://")) and "/static/" not in address
            if uploaded and re.search(r"\.(jpg|webp|png)$", address):
                found.append(address)
    return found


@pytest.fixture(params=["endpoint", "custom domain"])
def links(request, bucket, settings):
    """Where pages point pictures: at the endpoint (ENDPOINT/BUCKET/KEY), or at a custom_domain."""
    if request.param == "endpoint":
        return f"{bucket.server.proxy.url}/{bucket.name}/"
    use_bucket(settings, bucket.setting + "&custom_domain=https://media.example.org", max_attempts=1)
    return "https://media.example.org/"


def test_an_upload_puts_the_original_and_every_size_in_the_bucket_and_nothing_on_disk(
    bucket, editor_client, media_files
):
    article = add_story(editor_client)

    assert bucket.keys() == stored_names(article)
    assert set(article.renditions) == {"thumb", "480", "960", "1440"}
    assert (article.image_width, article.image_height) == (1600, 900)
    with Image.open(
        urllib.request.urlopen(f"{bucket.server.direct_url}/{bucket.name}/{article.image.name}")
    ) as img:
        assert (img.format, img.size) == ("JPEG", (1600, 900))
    head = bucket.head(article.renditions["960"]["webp"])
    assert head["ContentType"] == "image/webp"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert bucket.head(article.renditions["960"]["jpg"])["ContentType"] == "image/jpeg"
    assert media_files() == []  # nothing written under MEDIA_ROOT
    assert {seen.method for seen in bucket.seen} <= {"PUT", "HEAD", "GET"}  # no listing of the bucket


def test_an_outlet_logo_and_its_small_size_go_to_the_bucket(bucket, editor_client, media_files):
    source = add_outlet(editor_client)

    assert bucket.keys() == logo_names(source)
    assert (source.logo_width, source.logo_height) == (256, 128)  # brought down to LOGO_MAX
    assert bucket.head(source.logo_small["png"])["ContentType"] == "image/png"
    assert media_files() == []


def test_pages_link_the_bucket_and_rendering_them_asks_the_bucket_nothing(
    links, bucket, editor_client, client
):
    source = add_outlet(editor_client)
    article = add_story(editor_client, outlets=[source])
    BiasRatingFactory(article=article)
    pages = public_pages(article, source)
    bucket.forget()

    answers = {name: client.get(url) for name, url in pages.items()}
    signed_in = {
        "admin stories": editor_client.get(reverse("admin:articles_article_changelist")),
        "admin story": editor_client.get(reverse("admin:articles_article_change", args=[article.pk])),
        "admin outlets": editor_client.get(reverse("admin:articles_source_changelist")),
        "admin outlet": editor_client.get(reverse("admin:articles_source_change", args=[source.pk])),
        "admin front page": editor_client.get(reverse("admin:index")),
        "preview": editor_client.get(reverse("admin:articles_article_preview", args=[article.pk])),
    }

    assert {name: a.status_code for name, a in (answers | signed_in).items()} == dict.fromkeys(
        answers | signed_in, 200
    )
    assert bucket.seen == []  # not one request to the S3 server to render any of them
    objects = {links + key for key in bucket.keys()}  # noqa: SIM118 (a method, not a dict's)
    html = answers["article"].content.decode()
    shown = picture_links(html)
    assert shown and set(shown) <= objects
    assert {
        links + article.renditions[size][ext] for size in ("480", "960", "1440") for ext in ("jpg", "webp")
    } <= set(shown)
    assert links + source.logo_small["webp"] in shown  # the cited outlet's logo, small size
    assert 'width="960" height="540"' in html  # the sizes stored at upload, not read from the file
    assert f'<meta property="og:image" content="{links}{article.renditions["1440"]["jpg"]}">' in html
    assert set(picture_links(answers["front page"].content.decode())) <= objects
    assert set(picture_links(answers["outlet"].content.decode())) & {links + source.logo.name}
    feed = answers["rss"].content.decode()
    assert feed.count(f'url="{links}{article.renditions["960"]["jpg"]}"') == 2  # enclosure, media:content
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(links))
    policy = answers["article"]["Content-Security-Policy"]
    assert origin in re.search(r"img-src ([^;]*)", policy).group(1).split()
    if links.startswith(bucket.server.proxy.url):  # the links work: a reader's browser gets the picture
        with urllib.request.urlopen(shown[0]) as answer:
            assert answer.read() == bucket.read(shown[0].removeprefix(links))


def test_saving_a_story_without_a_new_picture_asks_the_bucket_nothing(bucket, editor_client):
    article = add_story(editor_client)
    bucket.forget()

    change = reverse("admin:articles_article_change", args=[article.pk])
    assert browser_post(editor_client, change, title="Talks resume at dawn").status_code == 302

    assert bucket.seen == []  # Django's ImageField would download the picture to measure it again
    article.refresh_from_db()
    assert (article.title, article.image_width, article.image_height) == ("Talks resume at dawn", 1600, 900)
