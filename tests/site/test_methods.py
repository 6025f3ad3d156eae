"""Every public address is read-only: GET and HEAD answer, any other method is a 405 naming them in
Allow, feeds and sitemaps included (Django's Feed and sitemap views answer any method by themselves).

The test client skips the CSRF check; a real client's PUT, DELETE, PATCH or POST without a token is
refused 403 by CsrfViewMiddleware before the view's 405, on every page alike."""

from datetime import timedelta

import pytest
from django.urls import URLPattern, reverse

from articles import urls as public_urls
from articles.newsroom.previews import preview_link_create
from tests.factories import ArticleFactory, SourceFactory

pytestmark = pytest.mark.django_db

REFUSED = ["TRACE", "OPTIONS", "PUT", "DELETE", "PATCH", "POST"]


@pytest.fixture
def addresses(editor):
    """One working address per public URL pattern, by name."""
    story = ArticleFactory(with_image=True)
    outlet = SourceFactory()
    draft = ArticleFactory(draft=True)
    link = preview_link_create(article=draft, user=editor, lifetime=timedelta(days=1))
    when = story.published_at
    section = {"section": story.category.slug}
    kwargs = {
        "article": {**section, "slug": story.slug},
        "section": section,
        "section_feed_rss": section,
        "section_feed_atom": section,
        "source": {"slug": outlet.slug},
        "shared_preview": {"token": link.token},
        "sitemap": {"section": "sections"},
        "sitemap_month": {"year": f"{when.year:04d}", "month": f"{when.month:02d}"},
    }
    names = [pattern.name for pattern in public_urls.urlpatterns if isinstance(pattern, URLPattern)]
    return {name: reverse(f"articles:{name}", kwargs=kwargs.get(name)) for name in names}


def test_every_public_pattern_is_covered(addresses):
    assert len(addresses) == len(public_urls.urlpatterns) >= 18


def test_every_public_address_answers_get_and_head(client, addresses):
    for name, url in addresses.items():
        assert client.get(url).status_code == 200, (name, url)
        head = client.head(url)
        assert head.status_code == 200 and head.content == b"", (name, url)


@pytest.mark.parametrize("method", REFUSED)
def test_every_other_method_is_405_with_allow(client, addresses, method):
    for name, url in addresses.items():
        response = client.generic(method, url)
        assert response.status_code == 405, (name, url, method)
        assert response["Allow"] == "GET, HEAD", (name, url, method)
        assert b"<rss" not in response.content and b"<urlset" not in response.content, (name, url)
