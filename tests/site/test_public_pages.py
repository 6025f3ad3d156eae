import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.site import sitemaps
from tests.factories import (
    ArticleFactory,
    ArticleSourceFactory,
    BiasRatingFactory,
    CategoryFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

NOT_FOUND = "We can’t find that page"
BAD_REQUEST = "We couldn’t understand that request"
PAGE_SIZE = 20  # stories per section or outlet page (README)


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, url
    return response.content.decode()


def main_of(html):
    return html[html.index("<main") : html.index("</main>")]


def assert_in_order(html, needles):
    positions = {needle: html.find(needle) for needle in needles}
    assert [n for n, p in positions.items() if p < 0] == [], "missing from the page"
    assert sorted(needles, key=positions.get) == list(needles)


# --- Front page, sections, articles, outlets ------------------------------------------------------


def test_home_has_lead_latest_and_a_block_per_section(client):
    featured = ArticleFactory(
        title="The featured story", featured=True, category=CategoryFactory(slug="crypto")
    )
    newest = ArticleFactory(title="The newest story", category=CategoryFactory(slug="sports"))
    ArticleFactory(title="A politics story", category=CategoryFactory(slug="politics"))
    ArticleFactory(title="A crypto story", category=CategoryFactory(slug="crypto"))
    html = page(client, reverse("articles:home"))
    lead = html[html.index('class="home-lead"') : html.index('class="home-latest"')]
    assert "The featured story" in lead
    assert "The newest story" not in lead
    latest = html[html.index('class="home-latest"') :]
    assert "The newest story" in latest
    assert_in_order(html, ['id="section-politics"', 'id="section-crypto"', 'id="section-sports"'])
    assert 'id="section-world"' not in html  # no stories, no block
    crypto = html[html.index('id="section-crypto"') : html.index('id="section-sports"')]
    assert "A crypto story" in crypto
    assert "The featured story" not in crypto  # the lead is not repeated below
    assert featured.get_absolute_url() in lead
    assert newest.get_absolute_url() in html


def test_home_without_a_featured_story_leads_with_the_newest(client):
    ArticleFactory(title="Older story", published_at=datetime(2026, 1, 1, tzinfo=UTC))
    ArticleFactory(title="Newer story", published_at=datetime(2026, 1, 2, tzinfo=UTC))
    html = page(client, reverse("articles:home"))
    lead = html[html.index('class="home-lead"') : html.index('class="home-latest"')]
    assert "Newer story" in lead
    assert "Older story" not in lead


def test_empty_home(client):
    assert "No stories have been published yet." in page(client, reverse("articles:home"))


def test_section_page_is_paginated(client):
    world = CategoryFactory(slug="world")
    ArticleFactory.create_batch(PAGE_SIZE, category=world)
    oldest = ArticleFactory(
        title="The oldest story", category=world, published_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    ArticleFactory(title="Elsewhere", category=CategoryFactory(slug="business"))
    url = reverse("articles:section", kwargs={"section": "world"})
    first = page(client, url)
    assert "<h1>World</h1>" in first
    assert "Page 1 of 2" in first
    assert "The oldest story" not in first
    assert "Elsewhere" not in first
    second = page(client, f"{url}?page=2")
    assert "Page 2 of 2" in second
    assert oldest.get_absolute_url() in second


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("abc", 400),
        ("0", 400),
        ("-1", 400),
        ("1.5", 400),
        ("1e3", 400),
        ("9" * 40, 400),
        ("2", 404),
        ("99999", 404),
    ],
)
def test_a_bad_page_number_is_the_readers_mistake_not_a_server_error(client, number, status):
    ArticleFactory.create_batch(2)
    url = reverse("articles:section", kwargs={"section": "world"})
    html = page(client, f"{url}?page={number}", status=status)
    assert (BAD_REQUEST if status == 400 else NOT_FOUND) in html
    assert 'href="/"' in html


def test_an_empty_page_number_is_the_first_page(client):
    ArticleFactory(title="Only story")
    assert "Only story" in page(client, reverse("articles:section", kwargs={"section": "world"}) + "?page=")


def test_article_page_lists_its_sources_and_links_to_the_outlet(client):
    outlet = SourceFactory(name="Daily Example")
    cite = ArticleSourceFactory(source=outlet, title="What they wrote")
    html = page(client, cite.article.get_absolute_url())
    assert "Daily Example" in html
    assert "What they wrote" in html
    assert f'href="{outlet.get_absolute_url()}"' in html
    assert "No bias rating yet" in html


def test_source_page_lists_the_stories_citing_it(client):
    outlet = SourceFactory(name="Daily Example", domain="daily.example", bias="lean_left")
    cite = ArticleSourceFactory(source=outlet, article__title="Cited story")
    ArticleFactory(title="Uncited story")
    html = page(client, outlet.get_absolute_url())
    assert "<h1>Daily Example</h1>" in html
    assert '<p class="lede">Current lean: Lean left · <a href="https://daily.example/"' in html
    assert '<a href="https://daily.example/" rel="noopener noreferrer">daily.example</a>' in html
    assert cite.article.get_absolute_url() in html
    assert "Uncited story" not in html


@pytest.mark.parametrize(
    "url",
    [
        "/no-such-section/",
        "/world/no-such-story/",
        "/no-such-section/no-such-story/",
        "/sources/no-such-outlet/",
        "/world/bad%20slug/",
    ],
)
def test_unknown_addresses_get_the_friendly_404(client, url):
    ArticleFactory()
    html = page(client, url, status=404)
    assert NOT_FOUND in html
    assert 'href="/"' in html


def test_article_under_the_wrong_section_redirects_to_its_canonical_address(client):
    article = ArticleFactory(category=CategoryFactory(slug="politics"))
    response = client.get(reverse("articles:article", kwargs={"section": "world", "slug": article.slug}))
    assert response.status_code == 301
    assert response["Location"] == f"/politics/{article.slug}/"
    assert page(client, response["Location"])


def test_public_pages_only_read(client):
    article = ArticleFactory()
    assert client.post(article.get_absolute_url()).status_code == 405
    assert client.head(article.get_absolute_url()).status_code == 200


# --- The visibility matrix: only published stories are ever shown ---------------------------------

STATES = {
    "published": {},
    "draft": {"draft": True},
    "scheduled": {"scheduled": True},
    "unpublished": {"unpublished": True},
}
EMPTY = {
    "home": "No stories have been published yet.",
    "section": "No Politics stories have been published yet.",
    "source": "No published story cites Matrix Outlet yet.",
}


@pytest.fixture(params=STATES)
def story(request):
    article = ArticleFactory(
        title="The matrix story", category=CategoryFactory(slug="politics"), **STATES[request.param]
    )
    ArticleSourceFactory(article=article, source=SourceFactory(name="Matrix Outlet", slug="matrix-outlet"))
    BiasRatingFactory(article=article)
    article.state = request.param
    return article


SURFACES = {
    "home": ("articles:home", {}),
    "section": ("articles:section", {"section": "politics"}),
    "source": ("articles:source", {"slug": "matrix-outlet"}),
    "related": ("articles:article", {"section": "politics", "slug": "a-neighbour"}),
    "search": ("articles:search", {}),
    "feed": ("articles:feed_rss", {}),
    "atom-feed": ("articles:feed_atom", {}),
    "section-feed": ("articles:section_feed_rss", {"section": "politics"}),
    "section-atom-feed": ("articles:section_feed_atom", {"section": "politics"}),
    "sitemap": ("articles:sitemap_month", {}),
    "news-sitemap": ("articles:news_sitemap", {}),
}


def surface_url(surface, article):
    if surface == "sitemap":  # the month the story went (or would go) live in
        return sitemaps.month_path(article.published_at or timezone.now())
    name, kwargs = SURFACES[surface]
    return reverse(name, kwargs=kwargs) + ("?q=matrix" if surface == "search" else "")


def test_matrix_article_page(client, story):
    url = reverse("articles:article", kwargs={"section": "politics", "slug": story.slug})
    if story.state == "published":
        assert "The matrix story" in page(client, url)
    else:
        assert NOT_FOUND in page(client, url, status=404)
    # Under a wrong section too: a hidden story must not even redirect.
    wrong = reverse("articles:article", kwargs={"section": "world", "slug": story.slug})
    assert client.get(wrong).status_code == (301 if story.state == "published" else 404)


@pytest.mark.parametrize("surface", SURFACES)
def test_matrix_lists(client, story, surface):
    # A published neighbour in the same section citing the same outlet: the story's natural relative.
    neighbour = ArticleFactory(title="A neighbour", category=story.category)
    ArticleSourceFactory(article=neighbour, source=story.article_sources.get().source)
    body = page(client, surface_url(surface, story))
    visible = story.state == "published"
    assert (story.slug in body) is visible
    if not surface.endswith("sitemap"):
        assert ("The matrix story" in body) is visible
    if surface == "related":
        assert ('id="related-heading"' in body) is visible


@pytest.mark.parametrize("surface", EMPTY)
def test_matrix_empty_states(client, story, surface):
    html = page(client, surface_url(surface, story))
    assert (EMPTY[surface] in html) is (story.state != "published")


@pytest.mark.parametrize("surface", ["section", "source"])
def test_matrix_counts(client, story, surface):
    # A full page of published neighbours: one more visible story would make a second page.
    for _ in range(PAGE_SIZE):
        ArticleSourceFactory(
            article=ArticleFactory(category=story.category, published_at=datetime(2025, 1, 1, tzinfo=UTC)),
            source=story.article_sources.get().source,
        )
    url = surface_url(surface, story)
    html = page(client, url)
    older = 'rel="next"' in html  # a 21st visible story makes an "Older" link
    if story.state == "published":
        assert older
        assert "The matrix story" in html
        if surface == "section":
            assert "Page 1 of 2" in html
            assert client.get(f"{url}?page=2").status_code == 200
    else:
        assert not older
        assert "Page 1 of" not in html
        assert client.get(f"{url}?page=2").status_code == 404


# --- The article page, in the reference order ------------------------------------------------------


@pytest.fixture
def reference_article():
    bbc = SourceFactory(name="BBC", domain="bbc.co.uk", with_logo=True)
    article = ArticleFactory(
        title="Talks show progress with challenges ahead",
        with_image=True,
        image_credit="bbc.co.uk",
        published_at=datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
        summary="Talks are moving closer to progress.\n\nA central issue remains unresolved.",
        ai_summary=True,
    )
    BiasRatingFactory(article=article, left=15, center=80, right=5)
    ArticleSourceFactory(article=article, source=bbc, url="https://bbc.co.uk/news/articles/c78v5dj3x39o")
    return article


def test_article_page_in_reference_order(client, reference_article):
    html = page(client, reference_article.get_absolute_url())
    nav = html[html.index('<nav class="site-nav"') : html.index("</nav>")]
    assert_in_order(
        nav, [">Home</a>", ">World</a>", ">Politics</a>", ">Crypto</a>", ">Business</a>", ">Sports</a>"]
    )
    assert_in_order(
        html,
        [
            '<nav class="site-nav"',
            "<picture>",
            "Image from bbc.co.uk",
            ">Talks show progress with challenges ahead</h1>",
            "Posted <time",
            ">1st Jan 2026</time>",
            "L 15%",
            "C 80%",
            "R 5%",
            "<p>Talks are moving closer to progress.</p>",
            "<p>A central issue remains unresolved.</p>",
            ">Sources</h2>",
            'alt="BBC logo"',
            'href="https://bbc.co.uk/news/articles/c78v5dj3x39o" rel="noopener noreferrer"',
            "written with the help of artificial intelligence",
        ],
    )
    assert re.search(r'Posted <time datetime="2026-01-01T09:00:00[^"]*">1st Jan 2026</time>', html)
    assert 'role="img" aria-label="Coverage bias: 15% left, 80% center, 5% right"' in html
    summary = re.search(r'<div class="story-summary">(.*?)</div>', html, re.S).group(1)
    assert summary.count("<p>") == 2
    assert 'alt="A red rectangle"' in html


def test_no_ai_disclaimer_without_an_ai_summary(client, reference_article):
    reference_article.ai_summary = False
    reference_article.save()
    html = page(client, reference_article.get_absolute_url())
    assert "artificial intelligence" not in main_of(html)
    assert 'class="disclaimer"' not in html


def test_the_ai_note_is_the_operators_plain_text(client, reference_article, settings):
    settings.NEWSAPP_AI_NOTE = "Drafted by a <b>language model</b> & checked by nobody: see the sources."
    html = main_of(page(client, reference_article.get_absolute_url()))
    note = re.search(r'<p class="disclaimer" role="note">(.*?)</p>', html, re.S).group(1)
    assert note == (
        '<span aria-hidden="true">*</span> Drafted by a &lt;b&gt;language model&lt;/b&gt; '
        "&amp; checked by nobody: see the sources."
    )
    assert "artificial intelligence" not in html


def test_posted_date_is_shown_in_the_site_time_zone(client):
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
    article = ArticleFactory(published_at=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    assert ">1st Jul 2026</time>" in page(client, article.get_absolute_url())


# --- Security by construction ------------------------------------------------------------------------

# Executable inline script; JSON data blocks (schema.org JSON-LD) are not run, so CSP has no say in them.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/(?:ld\+)?json\"))[^>]*>", re.I)


@pytest.mark.parametrize(
    ("surface", "status"),
    [
        ("home", 200),
        ("section", 200),
        ("article", 200),
        ("source", 200),
        ("search", 200),
        ("missing", 404),
        ("bad-page", 400),
    ],
)
def test_no_inline_script_or_style_and_a_strict_csp(client, reference_article, surface, status):
    url = {
        "home": reverse("articles:home"),
        "section": reverse("articles:section", kwargs={"section": "world"}),
        "article": reference_article.get_absolute_url(),
        "source": reference_article.article_sources.get().source.get_absolute_url(),
        "search": reverse("articles:search") + "?q=talks",
        "missing": "/world/missing/",
        "bad-page": reverse("articles:section", kwargs={"section": "world"}) + "?page=x",
    }[surface]
    response = client.get(url)
    assert response.status_code == status
    html = response.content.decode()
    assert ("Talks show progress" in html) is (status == 200)
    assert not INLINE_SCRIPT.search(html)
    assert "style=" not in html
    assert "<style" not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp


def test_plain_text_is_escaped_everywhere(client):
    hostile = "<script>alert(1)</script>"
    outlet = SourceFactory(name=f"Outlet {hostile}")
    article = ArticleFactory(title=f"Title {hostile}", image_credit=hostile)
    ArticleSourceFactory(article=article, source=outlet, title=f"Headline {hostile}")
    for url in (
        reverse("articles:home"),
        reverse("articles:section", kwargs={"section": "world"}),
        article.get_absolute_url(),
        outlet.get_absolute_url(),
    ):
        html = page(client, url)
        assert hostile not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
