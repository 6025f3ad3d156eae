"""Fixtures for the browser tests: one live server and one Chromium for the whole session.

Run with `make test-browser` (or `pytest -m browser tests/browser`). Needs Debian's Chromium at
/usr/bin/chromium, Java, and `npm ci` for axe-core and vnu-jar; the Makefile target sees to all three.
Screenshots land in var/screenshots/, the axe and HTML-checker findings in var/browser-report/.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser import live_app
from tests.browser.support import (
    AXE_JS,
    CHECKED,
    CHROMIUM,
    CHROMIUM_ARGS,
    LESSER_FINDINGS,
    VIEWPORTS,
    VNU_JAR,
    Guard,
    settle,
    write_report,
)


def pytest_collection_modifyitems(items):
    """The editor journeys publish stories: run them last, so the other tests (and the screenshots)
    see the demo newsroom as seeded. The newsdesk's last of all: its story cites the demo outlets at
    their 127.0.0.1 addresses, and test_workflow copies the newest published story as its draft."""
    rank = {Path(__file__).with_name(name): 1 for name in ("test_workflow.py", "test_editor.py")}
    rank[Path(__file__).with_name("test_newsdesk.py")] = 2
    items.sort(key=lambda item: rank.get(item.path, 0))


@pytest.fixture(scope="session")
def app(tmp_path_factory) -> Iterator[live_app.LiveApp]:
    for tool in (AXE_JS, VNU_JAR):
        if not tool.exists():
            pytest.fail(f"{tool} is missing: run `npm ci` (make test-browser does).")
    server = live_app.start(tmp_path_factory.mktemp("live-app"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def newsdesk(app) -> Iterator[live_app.Newsdesk]:
    """The live app's newsdesk: the demo outlets' feeds served from this process, fetched once and
    grouped into story candidates (a few seconds, paid only by the tests that ask for it)."""
    desk = live_app.newsdesk_start(app)
    yield desk
    desk.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page in its own browser context, watched by a Guard."""

    page: Page
    context: BrowserContext
    guard: Guard
    base: str

    def visit(self, path: str, status: int = 200) -> Page:
        url = path if path.startswith("http") else self.base + path
        if status != 200:
            self.guard.expect(url, status)
        response = self.page.goto(url)
        assert response is not None, f"no response for {url}"
        assert response.status == status, f"{url} answered {response.status}, expected {status}"
        settle(self.page)
        return self.page

    def click_and_settle(self, locator) -> Page:
        with self.page.expect_navigation():
            locator.click()
        settle(self.page)
        return self.page

    def assert_clean(self, where: str = "") -> None:
        self.guard.assert_clean(where or self.page.url)


@pytest.fixture
def open_tab(app, browser) -> Iterator[Callable[..., Tab]]:
    """open_tab("phone" | "desktop") -> a fresh, signed-out Tab; checked for trouble at the end."""
    tabs: list[Tab] = []

    def open_(viewport: str = "desktop") -> Tab:
        context = browser.new_context(**VIEWPORTS[viewport], base_url=app.url)
        guard = Guard(origin=app.url)
        guard.attach(context)
        tab = Tab(page=context.new_page(), context=context, guard=guard, base=app.url)
        tabs.append(tab)
        return tab

    yield open_
    leftovers = []
    for tab in tabs:
        leftovers += tab.guard.take()
        tab.context.close()
    assert not leftovers, "browser trouble noticed after the test's last check:\n" + "\n".join(leftovers)


@pytest.fixture(scope="session")
def public_pages(app) -> dict[str, tuple[str, int]]:
    """Every kind of public page, as name -> (path, expected status)."""
    facts = app.facts
    paged = facts["sections"][0]
    return {
        "home": ("/", 200),
        "section": (f"/{paged['slug']}/", 200),
        "section-page-2": (f"/{paged['slug']}/?page=2", 200),
        "article": (facts["flagged_url"], 200),
        "article-without-ai-note": (facts["unflagged_url"], 200),
        "source": (f"/sources/{facts['sources'][0]['slug']}/", 200),
        "sources": ("/sources/", 200),
        "sources-left": ("/sources/?lean=left", 200),
        "search": ("/search/?q=harbour", 200),
        "methodology": ("/methodology/", 200),
        "blindspot": ("/blindspot/", 200),
        "balance": ("/balance/", 200),
        "not-found": (facts["draft_url"], 404),
    }


def pytest_terminal_summary(terminalreporter):
    if not any(CHECKED.values()):
        return
    terminalreporter.section("browser: axe and HTML checker findings below the failing level")
    for tool, pages in CHECKED.items():
        count = len(LESSER_FINDINGS[tool])
        terminalreporter.write_line(f"{tool}: {len(pages)} page(s) checked, {count} lesser finding(s)")
    for finding in LESSER_FINDINGS["axe"]:
        terminalreporter.write_line(
            f"axe {finding['impact']:<9} {finding['id']} on {finding['page']}: {finding['help']} "
            f"({len(finding['nodes'])} element(s))"
        )
    for finding in LESSER_FINDINGS["vnu"]:
        terminalreporter.write_line(f"vnu {finding['kind']} on {finding['page']}: {finding['message']}")
    path = write_report("lesser-findings.json", LESSER_FINDINGS)
    terminalreporter.write_line(f"written to {path}")
