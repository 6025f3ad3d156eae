"""The outlet directory and an outlet's page in a real browser, at both sizes: the rating timelines
are drawn at a readable size and told in words, the lean filter works by links alone (no script)."""

import re

import pytest
from playwright.sync_api import expect

from articles.site.outlets import PER_PAGE
from tests.browser.support import screenshot

pytestmark = pytest.mark.browser

LEANS = {"Left", "Lean left", "Center", "Lean right", "Right", "Unrated"}
COUNT_OUTLETS = "from articles.models import Source; print(Source.objects.count())"


def outlets_listed(app) -> int:
    """The directory's first page as the database has it now, not as the app's facts were at start:
    the newsdesk's tests, in any order before this one, add the outlets of their feeds."""
    return min(PER_PAGE, int(app.manage("shell", "-v0", "-c", COUNT_OUTLETS).strip().splitlines()[-1]))


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_directory_shows_each_outlet_with_its_timeline_and_filters_by_lean(open_tab, app, viewport):
    tab = open_tab(viewport)
    page = tab.visit("/sources/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Outlets")
    rows = page.locator("li.outlet")
    assert rows.count() == outlets_listed(app) >= len(app.facts["sources"])
    for index in range(rows.count()):
        row = rows.nth(index)
        expect(row.locator(".outlet-name")).to_be_visible()
        assert row.locator(".outlet-lean").inner_text().strip() in LEANS
        assert re.fullmatch(r"\d+ stor(y|ies) in 30 days", row.locator(".outlet-recent").inner_text().strip())
        drawing = row.locator(".timeline-drawing")
        if drawing.count():  # a rated outlet: its history drawn, and said
            assert drawing.get_attribute("aria-label").startswith("Rating history: ")
            box = drawing.locator("svg").bounding_box()
            assert box["width"] >= 100 and box["height"] >= 6, box
    tab.assert_clean(f"directory ({viewport})")

    filters = page.get_by_role("navigation", name="Filter by lean")
    tab.click_and_settle(filters.get_by_role("link", name="Left", exact=True))
    assert page.url.endswith("/sources/?lean=left")
    expect(filters.get_by_role("link", name="Left", exact=True)).to_have_attribute("aria-current", "page")
    shown = {lean.strip() for lean in page.locator("li.outlet .outlet-lean").all_inner_texts()}
    assert shown <= {"Left"}
    tab.assert_clean(f"directory, left ({viewport})")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_an_outlet_page_shows_its_history_large_with_a_table(open_tab, app, viewport):
    tab = open_tab(viewport)
    page = tab.visit("/sources/")
    rated = page.locator("li.outlet").filter(has=page.locator(".timeline-drawing")).first
    name = rated.locator(".outlet-name").inner_text().strip()
    tab.click_and_settle(rated.locator(".outlet-name"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    drawing = page.locator(".timeline-large .timeline-drawing")
    expect(drawing).to_be_visible()
    assert drawing.get_attribute("aria-label").startswith("Rating history: ")
    width = page.viewport_size["width"]
    assert drawing.locator("svg").bounding_box()["width"] >= min(300, width * 0.7)
    table = page.get_by_role("table")
    expect(table.first).to_be_visible()
    headers = table.first.locator("thead th").all_inner_texts()
    assert headers == ["Lean", "In force from", "Rated by", "Method", "Confidence", "Note"]
    assert table.first.locator("tbody tr").count() >= 1
    screenshot(page, f"{viewport}-outlet-history")  # var/screenshots: a rated outlet's page
    tab.assert_clean(f"outlet ({viewport})")
