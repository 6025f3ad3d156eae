"""axe-core on every public page, plus what axe cannot judge alone: keyboard use and visible focus."""

import pytest
from playwright.sync_api import expect

from tests.browser.support import CHECKED, LESSER_FINDINGS, run_axe, story_desk_pages, write_report
from tests.browser.test_editor import log_in

pytestmark = pytest.mark.browser

FAILING_IMPACTS = {"serious", "critical"}
PAGES_WITH_BIAS_BARS = {"home", "section", "section-page-2", "article", "article-without-ai-note", "source"}


def axe_check(page, where: str, serious: list, results: dict) -> dict[str, list]:
    """Run axe on `page`: its serious findings go to `serious`, the rest to the run's report; returns
    the rules it checked and passed, with their elements."""
    result = run_axe(page)
    results[where] = result
    CHECKED["axe"].append(where)
    for rule in result["violations"]:
        finding = {**rule, "page": where}
        (serious if rule["impact"] in FAILING_IMPACTS else LESSER_FINDINGS["axe"]).append(finding)
    return {rule["id"]: rule["nodes"] for rule in result["passes"]}


def summary_of(serious: list) -> str:
    return "serious or critical axe violations:\n" + "\n".join(
        f"{f['page']}: {f['id']} ({f['impact']}) {f['help']}: {f['nodes'][:5]}" for f in serious
    )


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_axe_finds_nothing_serious_on_public_pages(open_tab, public_pages, viewport):
    tab = open_tab(viewport)
    serious, results = [], {}
    for name, (path, status) in public_pages.items():
        page = tab.visit(path, status=status)
        tab.assert_clean(name)
        checked = axe_check(page, f"{name} ({viewport})", serious, results)
        expected = ["landmark-one-main", "region", "bypass", "document-title", "html-has-lang", "list"]
        if name.startswith("article"):
            expected.append("image-alt")  # elsewhere every picture sits in an aria-hidden card link
        for rule in expected:
            assert rule in checked, f"axe did not check {rule} on {name}"
        if name in PAGES_WITH_BIAS_BARS:
            # The labels' colour contrast must have been measured, not skipped.
            labels = [node for node in checked.get("color-contrast", []) if "bias-label" in node]
            assert labels, f"axe did not check the contrast of the bias labels on {name}"
        tab.assert_clean(f"{name} after axe")
    write_report(f"axe-{viewport}.json", results)
    assert not serious, summary_of(serious)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_axe_finds_nothing_serious_on_the_newsdesk(open_tab, app, newsdesk, viewport):
    """The newsroom's story desk, signed in as an Editor: its list and a desk page."""
    tab = open_tab(viewport)
    log_in(tab, "editor", app.password)
    serious, results = [], {}
    for name, path in story_desk_pages(newsdesk).items():
        page = tab.visit(path)
        tab.assert_clean(name)
        checked = axe_check(page, f"{name} ({viewport})", serious, results)
        for rule in [
            "landmark-one-main",
            "document-title",
            "html-has-lang",
            "list",
            "label",
            "color-contrast",
        ]:
            assert rule in checked, f"axe did not check {rule} on {name}"
        labels = [node for node in checked["color-contrast"] if "bias-label" in node]
        assert labels, f"axe did not check the contrast of the bias labels on {name}"
        tab.assert_clean(f"{name} after axe")
    write_report(f"axe-story-desk-{viewport}.json", results)
    assert not serious, summary_of(serious)


def test_landmarks_and_alt_text(open_tab, public_pages):
    tab = open_tab("desktop")
    for name, (path, status) in public_pages.items():
        page = tab.visit(path, status=status)
        expect(page.get_by_role("banner")).to_have_count(1)
        expect(page.get_by_role("main")).to_have_count(1)
        expect(page.get_by_role("contentinfo")).to_have_count(1)
        nav = "Site" if status >= 400 else "Sections"  # an error page is made without the database
        expect(page.get_by_role("navigation", name=nav)).to_have_count(1)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        missing = page.locator("img:not([alt])").count()
        assert missing == 0, f"{missing} image(s) without alt on {name}"
    lead_alt = tab.visit(public_pages["article"][0]).locator(".story-image img").get_attribute("alt")
    assert lead_alt and lead_alt.strip(), "the lead image must describe itself"
    tab.assert_clean()


def focus_ring(locator) -> dict:
    return locator.evaluate(
        "(el) => { const s = getComputedStyle(el);"
        " return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor}; }"
    )


def test_keyboard_skip_link_and_visible_focus(open_tab, public_pages):
    tab = open_tab("desktop")
    page = tab.visit(public_pages["article"][0])
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.bounding_box()["y"] + skip.bounding_box()["height"] <= 0, "hidden until focused"

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["height"] >= 20, f"the focused skip link must be on screen: {box}"
    ring = focus_ring(skip)
    assert ring["style"] != "none" and ring["width"] >= 2, ring

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.closest('main') !== null")
    assert focused, "after the skip link, Tab goes on inside the main content"

    nav_link = page.get_by_role("navigation", name="Sections").get_by_role("link").first
    nav_link.focus()
    page.keyboard.press("Tab")
    active = page.locator(":focus")
    ring = focus_ring(active)
    assert ring["style"] != "none" and ring["width"] >= 2, f"no visible focus on {active.inner_text()}"
    assert ring["color"] not in ("transparent", "rgba(0, 0, 0, 0)"), ring
    tab.assert_clean()
