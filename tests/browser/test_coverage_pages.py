"""The coverage pages in a real browser, at both sizes, beyond what every public page gets (axe, the
HTML checker and the layout checks, through conftest.public_pages): the balance drawn and tabled on
/balance/ and on a section page, a story's "How this was rated" opened with JavaScript off (and its
screenshot), and the API's reference /api/v1/docs/, which is no page of the site's layout (Swagger UI
from our own static files, under the site's Content-Security-Policy)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    BASE_DIR,
    SCREENSHOTS,
    VIEWPORTS,
    load_every_image,
    no_horizontal_scroll,
    run_axe,
    settle,
)
from tests.browser.test_html import check_with_vnu, fetch

pytestmark = pytest.mark.browser

VIEWPORT_NAMES = ["desktop", "phone"]
SERIOUS = {"serious", "critical"}
API_DOCS = "/api/v1/docs/"


def within_screen(page, locator, what: str) -> None:
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None, f"{what} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, f"{what} leaves the screen: {box}"


def fits_or_scrolls_in_its_box(page, box, what: str) -> None:
    """A wide table scrolls sideways inside its own box on a phone (never the page): the box is on
    screen, and a keyboard can reach it to scroll it (a focusable region)."""
    within_screen(page, box, what)
    widths = box.evaluate("(el) => ({scroll: el.scrollWidth, client: el.clientWidth})")
    if widths["scroll"] > widths["client"]:
        assert box.get_attribute("tabindex") == "0" and box.get_attribute("role") == "region", what


@pytest.mark.parametrize("viewport", VIEWPORT_NAMES)
def test_the_balance_is_drawn_and_tabled_on_its_page_and_a_sections(open_tab, app, viewport):
    tab = open_tab(viewport)
    page = tab.visit("/balance/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Coverage balance")
    chart = page.locator("svg.balance-chart").first
    expect(chart).to_be_visible()
    assert chart.get_attribute("role") == "img" and chart.get_attribute("aria-label")
    within_screen(page, chart, "the balance chart")
    table = page.locator("table.balance-table").first
    expect(table).to_be_visible()
    fits_or_scrolls_in_its_box(page, page.locator(".balance-scroll").first, "the balance table")
    # The site and every section, each with a 7-day and a 30-day row.
    assert table.locator("tbody tr").count() >= 2 * (1 + len(app.facts["sections"]))
    tab.assert_clean(f"balance ({viewport})")

    section = app.facts["sections"][0]
    page = tab.visit(f"/{section['slug']}/")
    block = page.locator("section.balance-block", has=page.get_by_role("heading", name="Coverage balance"))
    expect(block).to_have_count(1)
    block.scroll_into_view_if_needed()
    expect(block.locator("svg.balance-chart")).to_be_visible()
    within_screen(page, block.locator("svg.balance-chart"), f"{section['name']}'s balance chart")
    fits_or_scrolls_in_its_box(page, block.locator(".balance-scroll"), f"{section['name']}'s balance table")
    rows = block.locator("table.balance-table tbody tr")
    assert rows.count() == 2, "the last 7 and 30 days"
    no_horizontal_scroll(page)
    tab.click_and_settle(block.get_by_role("link", name="Every section's balance"))
    assert page.url.endswith("/balance/")
    tab.assert_clean(f"section balance ({viewport})")


@pytest.mark.parametrize("viewport", VIEWPORT_NAMES)
def test_the_open_disclosure_without_javascript_lists_each_outlet_and_fits(
    app, browser, public_pages, viewport
):
    """With JavaScript off (where the Guard's CSP listener cannot run either), the <details> opens by
    itself; each counted outlet shows its lean and who rated it. Screenshot of the bar and the open
    disclosure: var/screenshots/{viewport}-disclosure.png."""
    context = browser.new_context(**VIEWPORTS[viewport], base_url=app.url, java_script_enabled=False)
    failures: list[str] = []

    def answered(response) -> None:
        if response.status >= 400:
            failures.append(f"HTTP {response.status}: {response.url}")

    context.on("requestfailed", lambda request: failures.append(f"{request.url} ({request.failure})"))
    context.on("response", answered)
    try:
        page = context.new_page()
        response = page.goto(public_pages["article"][0])
        assert response is not None and response.status == 200
        settle(page)
        disclosure = page.locator("article.story .story-bias details.rating-disclosure")
        disclosure.locator("summary").click()
        body = disclosure.locator(".disclosure-body")
        expect(body).to_be_visible()
        counted = body.locator("ul.disclosure-outlets").first.locator("li")
        assert counted.count() >= 1
        for index in range(counted.count()):
            entry = counted.nth(index)
            expect(entry.locator(".disclosure-outlet")).to_be_visible()
            lean = entry.locator(".disclosure-lean").inner_text().strip().rstrip(".")
            assert lean in {"Left", "Lean left", "Center", "Lean right", "Right"}, lean
            assert entry.locator(".disclosure-source").inner_text().startswith(("Rated by", "Rater not"))
        no_horizontal_scroll(page)
        within_screen(page, body, "the open disclosure")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{viewport}-disclosure.png"
        page.locator("article.story .story-bias").screenshot(path=shot)
        assert shot.stat().st_size > 5_000
        assert not failures, failures
    finally:
        context.close()


@pytest.mark.parametrize("viewport", VIEWPORT_NAMES)
def test_the_api_reference_renders_under_the_csp_and_axe_finds_nothing_serious(open_tab, viewport):
    tab = open_tab(viewport)
    page = tab.visit(API_DOCS)
    expect(page.locator("h1.api-docs-title")).to_contain_text("open data API")
    # Swagger UI drew every endpoint from the schema, with scripts and styles from our own files only.
    operations = page.locator("#swagger-ui .opblock")
    expect(operations.first).to_be_visible(timeout=15_000)
    paths = {text.strip() for text in page.locator("#swagger-ui .opblock-summary-path").all_inner_texts()}
    for expected in ("/api/v1/stories/", "/api/v1/outlets/", "/api/v1/blindspots/", "/api/v1/sections/"):
        assert expected in paths, f"{expected} not in the reference: {sorted(paths)}"
    load_every_image(page)
    no_horizontal_scroll(page)
    tab.assert_clean(f"API reference ({viewport})")
    serious = [rule for rule in run_axe(page)["violations"] if rule["impact"] in SERIOUS]
    assert not serious, "\n".join(f"{r['id']} ({r['impact']}) {r['help']}: {r['nodes'][:5]}" for r in serious)
    tab.assert_clean(f"API reference after axe ({viewport})")


def test_the_api_reference_is_valid_html(app, tmp_path: Path):
    status, body, content_type = fetch(app.url + API_DOCS)
    assert (status, content_type) == (200, "text/html")
    page = tmp_path / "api-docs.html"
    page.write_bytes(body)
    errors = check_with_vnu(
        {"api-docs": page}, [BASE_DIR / "static" / "api" / "docs.css"], report_name="vnu-api.json"
    )
    assert not errors, "HTML checker errors:\n" + "\n".join(errors)
