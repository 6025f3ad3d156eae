"""A story's "How this was rated" opens with JavaScript off, and every bias bar leads to /methodology/."""

import pytest
from playwright.sync_api import expect

from tests.browser.support import VIEWPORTS, no_horizontal_scroll, run_axe, settle

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_disclosure_opens_with_javascript_off(app, browser, public_pages, viewport):
    context = browser.new_context(**VIEWPORTS[viewport], base_url=app.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(public_pages["article"][0])
        disclosure = page.locator("article.story .story-bias details.rating-disclosure")
        body = disclosure.locator(".disclosure-body")
        expect(body).to_be_hidden()
        disclosure.get_by_text("How this was rated").click()
        expect(body).to_be_visible()
        expect(body).to_contain_text("Outlets counted:")
        expect(body.get_by_role("link", name="How we rate coverage")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_open_disclosure_fits_the_screen_and_axe_finds_nothing_serious(open_tab, public_pages, viewport):
    tab = open_tab(viewport)
    page = tab.visit(public_pages["article"][0])
    disclosure = page.locator("article.story details.rating-disclosure")
    disclosure.locator("summary").click()
    expect(disclosure).to_have_attribute("open", "")
    no_horizontal_scroll(page)
    serious = [rule for rule in run_axe(page)["violations"] if rule["impact"] in {"serious", "critical"}]
    assert not serious, serious
    tab.click_and_settle(disclosure.get_by_role("link", name="How we rate coverage"))
    assert page.url == f"{tab.base}/methodology/"
    expect(page.get_by_role("heading", level=1)).to_have_text("How we rate coverage")
    tab.assert_clean()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_cards_bar_and_the_footer_lead_to_the_methodology(open_tab, viewport):
    tab = open_tab(viewport)
    page = tab.visit("/")
    about = page.locator("main .card .bias-about-icon").first
    box = about.bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24, box  # WCAG 2.2's smallest target
    tab.click_and_settle(page.get_by_role("link", name="How bias bars are worked out").first)
    assert page.url.endswith("/methodology/")
    page.goto(tab.base + "/")
    settle(page)
    tab.click_and_settle(page.locator("footer").get_by_role("link", name="How we rate coverage"))
    assert page.url.endswith("/methodology/")
    tab.assert_clean()
