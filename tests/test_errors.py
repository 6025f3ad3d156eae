"""The friendly error pages: a crash shows our 500 page (no traceback, no internals)."""

import pytest
from django.test import Client
from django.urls import reverse

from articles import views

pytestmark = pytest.mark.django_db


def test_a_crash_shows_the_friendly_500_page(monkeypatch, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    url = reverse("articles:section", kwargs={"section": "world"})
    client = Client(raise_request_exception=False)
    assert client.get(url).status_code == 200

    def broken(*args, **kwargs):
        raise RuntimeError("boom: secret detail")

    monkeypatch.setattr(views, "render_cards", broken)
    response = client.get(url)
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "secret detail" not in html and "Traceback" not in html
