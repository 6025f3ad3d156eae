"""Checks of what a reader sees on a story, shared by the reader and editor journeys."""

import re
from datetime import datetime

from playwright.sync_api import Page, expect

POSTED = re.compile(r"^Posted \d{1,2}(st|nd|rd|th) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b")
HTTP_URL = re.compile(r"^https?://[^/\s]+\.[a-z]{2,}(/\S*)?$")


def loaded_size(page: Page, selector: str) -> list[int]:
    """naturalWidth and naturalHeight of a loaded image (after scrolling it into view)."""
    image = page.locator(selector)
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "(el) => el.complete && el.naturalWidth > 0", arg=image.element_handle(), timeout=10_000
    )
    return image.evaluate("(el) => [el.naturalWidth, el.naturalHeight]")


def check_article(page: Page, *, flagged: bool | None, posted: bool = True) -> None:
    """The reference elements of a story, visible and in the reference order."""
    story = page.locator("article.story")
    lead = "article.story .story-image img"
    width, height = loaded_size(page, lead)
    assert width > 0 and height > 0
    assert page.locator(lead).get_attribute("alt").strip(), "the lead image needs alt text"

    credit = story.locator(".story-image figcaption.credit")
    expect(credit).to_be_visible()
    expect(credit).to_have_text(re.compile(r"^Image from \S"))

    title = story.get_by_role("heading", level=1)
    expect(title).to_be_visible()
    assert page.title().startswith(title.inner_text().strip())

    date = story.locator(".story-date")
    expect(date).to_be_visible()
    if posted:
        assert POSTED.match(date.inner_text()), date.inner_text()
        stamp = date.locator("time").first.get_attribute("datetime")
        assert datetime.fromisoformat(stamp).tzinfo is not None, stamp
    else:  # a draft's preview
        expect(date).to_have_text("Not posted yet")

    bias = story.locator(".story-bias .bias")
    expect(bias).to_be_visible()
    labels = bias.locator(".bias-label")
    expect(labels).to_have_count(3)
    values = []
    for label, letter in zip(labels.all(), "LCR", strict=True):
        expect(label).to_be_visible()
        match = re.fullmatch(rf"{letter} (\d{{1,3}})%", label.inner_text().strip())
        assert match, label.inner_text()
        values.append(int(match[1]))
    assert sum(values) == 100, values
    assert bias.get_attribute("aria-label") == (
        f"Coverage bias: {values[0]}% left, {values[1]}% center, {values[2]}% right"
    )
    assert bias.locator("svg.bias-bar").bounding_box()["width"] >= 150

    summary = story.locator(".story-summary p").first
    expect(summary).to_be_visible()
    assert len(summary.inner_text().strip()) > 20

    sources = story.locator(".story-sources .source-item")
    assert sources.count() >= 1, "every demo story cites at least one outlet"
    for index in range(sources.count()):
        item = sources.nth(index)
        expect(item.locator(".source-name")).to_be_visible()
        logo = f"article.story .source-item >> nth={index} >> img.source-logo"
        assert min(loaded_size(page, logo)) > 0
        assert item.locator("img.source-logo").get_attribute("alt").endswith(" logo")
        link = item.locator("a.source-link")
        href = link.get_attribute("href")
        assert HTTP_URL.match(href), href
        assert link.inner_text().startswith(href)
        assert link.get_attribute("target") == "_blank"
        assert {"noopener", "noreferrer"} <= set(link.get_attribute("rel").split())

    disclaimer = story.locator(".disclaimer")
    if flagged is not None:
        expect(disclaimer).to_have_count(1 if flagged else 0)
    if flagged:
        expect(disclaimer).to_be_visible()
        expect(disclaimer).to_contain_text("artificial intelligence")

    order = [".story-image img", ".credit", ".story-title", ".story-date", ".story-bias", ".story-summary"]
    order += [".story-sources", ".disclaimer"] if flagged else [".story-sources"]
    tops = {part: story.locator(part).bounding_box()["y"] for part in order}
    assert list(tops.values()) == sorted(tops.values()), f"story parts out of the reference order: {tops}"
