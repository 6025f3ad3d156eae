"""Reader journeys on the live demo newsroom: home, sections, articles, sources, paging, 404."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import HTTP_URL, check_article, loaded_size

pytestmark = pytest.mark.browser

PAGE_SIZE = 20


def test_reader_goes_from_home_to_a_section_an_article_and_a_source(open_tab, app):
    tab = open_tab("desktop")
    page = tab.visit("/")
    expect(page.locator(".home-lead .card-title a")).to_be_visible()
    tab.assert_clean()

    section = app.facts["sections"][0]
    nav = page.get_by_role("navigation", name="Sections")
    tab.click_and_settle(nav.get_by_role("link", name=section["name"], exact=True))
    assert page.url == f"{app.url}/{section['slug']}/"
    expect(page.get_by_role("heading", level=1)).to_have_text(section["name"])
    current = nav.get_by_role("link", name=section["name"], exact=True)
    expect(current).to_have_attribute("aria-current", "page")
    tab.assert_clean()

    first = page.locator("main .card-title a").first
    headline = first.inner_text().strip()
    tab.click_and_settle(first)
    assert page.url.startswith(f"{app.url}/{section['slug']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(headline)
    check_article(page, flagged=None)
    tab.assert_clean()

    outlet = page.locator("article.story .source-item .source-name").first
    name = outlet.inner_text().strip()
    tab.click_and_settle(outlet)
    assert re.fullmatch(rf"{re.escape(app.url)}/sources/[\w-]+/", page.url), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    assert min(loaded_size(page, ".source-header img.source-logo")) > 0
    assert HTTP_URL.match(page.locator(".source-header .lede a").get_attribute("href"))
    expect(page.locator("main .card").first).to_be_visible()
    tab.assert_clean()


@pytest.mark.parametrize("flagged", [True, False], ids=["ai-summary", "no-ai-summary"])
def test_article_shows_the_reference_elements(open_tab, app, flagged):
    tab = open_tab("desktop")
    page = tab.visit(app.facts["flagged_url" if flagged else "unflagged_url"])
    check_article(page, flagged=flagged)
    tab.assert_clean()


def test_reader_pages_through_a_section(open_tab, app):
    section = app.facts["sections"][0]
    total = section["count"]
    assert total > PAGE_SIZE, "the seeded data must give one section a second page"
    pages = -(-total // PAGE_SIZE)
    tab = open_tab("desktop")
    page = tab.visit(f"/{section['slug']}/")
    cards = page.locator("main .card-title a")
    expect(cards).to_have_count(PAGE_SIZE)
    links = "(anchors) => anchors.map((a) => a.getAttribute('href'))"  # titles may repeat, URLs not
    first_page = set(cards.evaluate_all(links))
    assert len(first_page) == PAGE_SIZE
    pagination = page.get_by_role("navigation", name="Pages")
    expect(pagination).to_contain_text(f"Page 1 of {pages}")
    expect(pagination.locator("a[rel=prev]")).to_have_count(0)

    tab.click_and_settle(pagination.get_by_role("link", name="Older"))
    assert page.url == f"{app.url}/{section['slug']}/?page=2"
    expect(cards).to_have_count(min(PAGE_SIZE, total - PAGE_SIZE))
    assert not first_page & set(cards.evaluate_all(links)), "page 2 repeats stories from page 1"
    expect(pagination).to_contain_text(f"Page 2 of {pages}")
    expect(page).to_have_title(re.compile(r"page 2"))

    tab.click_and_settle(pagination.get_by_role("link", name="Newer"))
    assert page.url in (f"{app.url}/{section['slug']}/", f"{app.url}/{section['slug']}/?page=1")
    expect(pagination).to_contain_text(f"Page 1 of {pages}")
    assert set(cards.evaluate_all(links)) == first_page
    tab.assert_clean()


@pytest.mark.parametrize("kind", ["draft", "scheduled", "past-the-last-page"])
def test_unpublished_and_missing_pages_give_the_404_page(open_tab, app, kind):
    paths = {
        "draft": app.facts["draft_url"],
        "scheduled": app.facts["scheduled_url"],
        "past-the-last-page": f"/{app.facts['sections'][0]['slug']}/?page=999",
    }
    path = paths[kind]
    assert path, f"the demo newsroom has no {kind} story"
    tab = open_tab("desktop")
    page = tab.visit(path, status=404)
    expect(page.get_by_role("heading", level=1)).to_have_text("We can’t find that page")
    expect(page).to_have_title(re.compile(r"^Page not found"))
    # The error page needs no database, so no section navigation: it offers search instead.
    expect(page.get_by_role("search")).to_be_visible()
    expect(page.locator("main").get_by_role("link", name="front page")).to_have_attribute("href", "/")
    assert "Traceback" not in page.content()
    tab.assert_clean()
