"""What readers see on a phone (390x844) and a desktop (1366x900): fit, navigation, the bias bar.

Also saves the screenshots (var/screenshots/) of home, a section, an article, the outlet directory,
an outlet, the methodology, the blindspots and the balance at both sizes.
"""

import itertools

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    BIAS_LABELS,
    contrast_ratio,
    load_every_image,
    no_horizontal_scroll,
    screenshot,
)

pytestmark = pytest.mark.browser

VIEWPORT_NAMES = ["phone", "desktop"]
SCREENSHOT_PAGES = {"home", "section", "article", "source", "sources", "methodology", "blindspot", "balance"}
MIN_TARGET = 24  # WCAG 2.2 target size (minimum), in CSS pixels
MIN_LABEL_PX = 12
MIN_CONTRAST = 4.5  # the labels are small text


def check_nav(page, *, error_page: bool = False) -> None:
    """Every section link is on screen, big enough to tap and not covered by anything. An error
    page, made without the database, offers Home and Search instead of the sections."""
    nav = page.get_by_role("navigation", name="Site" if error_page else "Sections")
    links = nav.get_by_role("link")
    assert links.count() >= (2 if error_page else 6), (
        "Home and Search" if error_page else "Home and the five sections"
    )
    width = page.viewport_size["width"]
    for link in links.all():
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{link.inner_text()} is off screen: {box}"
        assert box["height"] >= MIN_TARGET and box["width"] >= MIN_TARGET, f"{link.inner_text()}: {box}"
        on_top = link.evaluate(
            "(el) => { const r = el.getBoundingClientRect();"
            " const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
            " return el === hit || el.contains(hit); }"
        )
        assert on_top, f"{link.inner_text()} is covered by another element"


def check_bias_labels(page, scope: str, *, min_bar: float) -> None:
    """Labels big enough, with enough contrast, side by side without overlapping, on screen."""
    bias = page.locator(scope).first
    bias.scroll_into_view_if_needed()
    labels = bias.evaluate(BIAS_LABELS)
    assert [label["text"][0] for label in labels] == ["L", "C", "R"], labels
    width = page.viewport_size["width"]
    for label in labels:
        assert label["fontSize"] >= MIN_LABEL_PX, label
        ratio = contrast_ratio(label["color"], label["background"])
        assert ratio >= MIN_CONTRAST, f"{label['text']}: contrast {ratio:.2f} < {MIN_CONTRAST}"
        assert label["box"]["left"] >= 0 and label["box"]["right"] <= width, label
    for left, right in itertools.pairwise(labels):
        assert left["box"]["right"] <= right["box"]["left"], f"labels overlap: {left} / {right}"
    bar = bias.locator("svg.bias-bar").bounding_box()
    assert bar["width"] >= min_bar and bar["height"] >= 6, bar


@pytest.mark.parametrize("viewport", VIEWPORT_NAMES)
def test_public_pages_fit_the_screen_and_load_every_image(open_tab, public_pages, viewport):
    tab = open_tab(viewport)
    for name, (path, status) in public_pages.items():
        page = tab.visit(path, status=status)
        no_horizontal_scroll(page)
        load_every_image(page)
        no_horizontal_scroll(page)
        check_nav(page, error_page=status >= 400)
        if name in SCREENSHOT_PAGES:
            assert screenshot(page, f"{viewport}-{name}").stat().st_size > 10_000
        tab.assert_clean(f"{name} ({viewport})")


@pytest.mark.parametrize("viewport", VIEWPORT_NAMES)
def test_navigation_works_at_every_size(open_tab, app, viewport):
    tab = open_tab(viewport)
    page = tab.visit("/")
    for section in app.facts["sections"][:2]:
        nav = page.get_by_role("navigation", name="Sections")
        link = nav.get_by_role("link", name=section["name"], exact=True)
        if viewport == "phone":
            with page.expect_navigation():
                link.tap()
        else:
            with page.expect_navigation():
                link.click()
        assert page.url.endswith(f"/{section['slug']}/")
        expect(page.get_by_role("heading", level=1)).to_have_text(section["name"])
        expect(nav.get_by_role("link", name=section["name"], exact=True)).to_have_attribute(
            "aria-current", "page"
        )
    tab.click_and_settle(page.get_by_role("navigation", name="Sections").get_by_role("link", name="Home"))
    assert page.url == f"{app.url}/"
    tab.assert_clean()


@pytest.mark.parametrize("viewport", VIEWPORT_NAMES)
def test_bias_bar_is_readable(open_tab, public_pages, viewport):
    tab = open_tab(viewport)
    page = tab.visit(public_pages["article"][0])
    check_bias_labels(page, "article.story .story-bias .bias", min_bar=300)
    page = tab.visit(public_pages["section"][0])
    check_bias_labels(page, "main .card .bias-compact", min_bar=150)
    tab.assert_clean()
