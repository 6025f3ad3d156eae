"""The story desk in a real browser: outlets' pieces, fetched from live feeds and grouped into story
candidates, become a draft story in one click, which an Editor publishes and a reader reads, with
its sources, its computed bias bar and the AI note. A Writer drafts too but does not publish.

The newsdesk fixture serves a slice of the demo corpus as the ten demo outlets' feeds from this
process (tests/browser/live_app.NEWSDESK_EVENTS); the live app fetched and grouped it with
`fetch_feeds --now`. The top candidate (most outlets, then newest) is the Editor's; the Writer drafts
the last one; the other tests of the desk only look, so the order the tests run in does not matter.
"""

import io
import re
import urllib.request
from datetime import datetime

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from newsdesk.demo import corpus
from tests.browser.pages import loaded_size
from tests.browser.support import load_every_image, no_horizontal_scroll, screenshot, story_desk_pages
from tests.browser.test_editor import log_in, status_badge

pytestmark = pytest.mark.browser

DESK = "/admin/newsdesk/candidate/"
SIDES = {"left": "left", "lean_left": "left", "center": "center", "lean_right": "right", "right": "right"}
SIDES_SHOWN = ["Left", "Center", "Right", "Unrated"]  # the desk page's columns, in order
COVERAGE = re.compile(r"^Coverage bias: (\d{1,3})% left, (\d{1,3})% center, (\d{1,3})% right$")


def desk_page(candidate: dict) -> str:
    return f"{DESK}{candidate['id']}/change/"


def side_of(outlet_name: str) -> str:
    """The desk column an outlet's pieces belong in."""
    lean = next(o["bias"] for o in corpus.outlets() if o["name"] == outlet_name)
    return SIDES.get(lean, "unrated")


def coverage(locator) -> tuple[int, int, int]:
    """(left, center, right) of a bias bar, read from its accessible name, which must add up."""
    match = COVERAGE.match(locator.get_attribute("aria-label") or "")
    assert match, locator.get_attribute("aria-label")
    values = tuple(int(n) for n in match.groups())
    assert sum(values) == 100, values
    return values


def middle_colour(picture: bytes) -> tuple[int, ...]:
    image = Image.open(io.BytesIO(picture)).convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))


def same_picture(stored_url: str, newsdesk, domain: str) -> bool:
    """Whether the stored picture is the one `domain`'s pages offer (og:image): each demo outlet's
    picture is a colour of its own inside a white frame, so its middle says whose it is."""
    with urllib.request.urlopen(stored_url, timeout=10) as response:
        stored = middle_colour(response.read())
    offered = middle_colour(newsdesk.server.RequestHandlerClass.site.picture(domain))
    return all(abs(a - b) <= 8 for a, b in zip(stored, offered, strict=True))


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def check_desk_list(page: Page, newsdesk) -> list[dict]:
    """The open candidates, most outlets first, then the newest; each with its outlets' bias bar."""
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_be_visible()
    seen = []
    for row in rows.all():
        bars = row.locator(".field-balance .bias[role=img]")
        seen.append(
            {
                "title": row.locator(".field-title a").inner_text().strip(),
                "outlets": int(row.locator(".field-outlets").inner_text().removeprefix("Outlets:").strip()),
                "newest": datetime.fromisoformat(row.locator(".field-newest time").get_attribute("datetime")),
                "bars": bars.count(),
            }
        )
        if bars.count():
            coverage(bars)
            expect(bars.locator("svg.bias-bar")).to_be_visible()
            expect(bars.locator(".bias-label")).to_have_count(3)
    order = [(-row["outlets"], -row["newest"].timestamp()) for row in seen]
    assert order == sorted(order), f"the desk is not ordered by outlets, then newest: {seen}"
    expected = {c["title"]: c["outlets"] for c in newsdesk.candidates}
    assert {row["title"]: row["outlets"] for row in seen}.items() <= expected.items(), seen
    # Every candidate of several outlets has a rated one among them in this corpus.
    assert all(row["bars"] == 1 for row in seen if row["outlets"] > 1), seen
    expect(page.locator("#changelist-filter")).to_contain_text("Open")
    expect(page.locator(".paginator")).to_contain_text(
        f"{len(seen)} candidate{'s' if len(seen) != 1 else ''}"
    )
    return seen


def check_desk_page(page: Page, candidate: dict, newsdesk) -> dict:
    """The pieces side by side by lean, the outlets' bias, the summary with how it was made and where
    each sentence came from, the section to choose. Returns what the draft should then hold."""
    expect(page.get_by_role("heading", level=1)).to_have_text(candidate["title"])
    outlets = candidate["outlets"]
    expect(page.locator("#desk-facts")).to_contain_text(
        f"{candidate['pieces']} pieces from {outlets} outlet{'s' if outlets != 1 else ''}"
    )
    balance = coverage(page.locator(".desk-balance .bias[role=img]"))

    served = {piece["url"]: piece for piece in newsdesk.pieces}
    columns = page.locator(".desk-column")
    expect(columns.locator("h3")).to_have_text([re.compile(rf"^{side}\b") for side in SIDES_SHOWN])
    urls, copies = [], []
    for column, side in zip(columns.all(), SIDES_SHOWN, strict=True):
        for piece in column.locator(".desk-piece").all():
            link = piece.locator(".desk-headline a")
            url = link.get_attribute("href")
            assert url in served, f"{url} is not a piece the outlets published"
            assert link.inner_text().strip() == served[url]["title"]
            outlet = piece.locator(".desk-meta").inner_text().split(" · ")[0].strip()
            assert side_of(outlet) == side.lower(), f"{outlet} is in the {side} column"
            if piece.locator(".desk-wire").count():
                expect(piece.locator(".desk-meta")).to_contain_text(re.compile(r"Wire copy of \S"))
                copies.append(url)
            urls.append(url)
    assert len(urls) == candidate["pieces"] and len(copies) == candidate["copies"], (urls, copies)

    method = page.locator("#desk-method")
    expect(method).to_contain_text("Sentences chosen from the pieces (offline)")
    expect(method).to_contain_text(re.compile(r"made \d{1,2} \w{3} \d{4}, \d\d:\d\d"))
    expect(page.locator(".desk-summary-text p").first).to_be_visible()
    provenance = page.locator(".desk-provenance li")
    assert provenance.count() >= 2, "a summary drawn from several outlets"
    for line in provenance.all():
        cited = line.locator("a").evaluate_all("(links) => links.map((a) => a.href)")
        assert cited and set(cited) <= set(urls), f"sentence without its pieces: {line.inner_text()}"
    # The section to choose (one may be proposed already), among the site's sections.
    options = page.get_by_label("Section").locator("option").all_inner_texts()
    assert options[0] == "Choose a section" and len(options) > 2, options
    expect(page.get_by_role("button", name="Make a draft story")).to_be_visible()
    lead = " ".join(page.locator(".desk-summary-text p").first.inner_text().split())
    return {"urls": urls, "copies": copies, "balance": balance, "lead": lead}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_story_desk_fits_a_desktop_and_a_phone(open_tab, app, newsdesk, viewport):
    """Screenshots of the desk's list and of a desk page (var/screenshots/<viewport>-story-desk*.png),
    taken before the journeys below draft from the list; on a phone the four lean columns stack and
    nothing is wider than the screen."""
    tab = open_tab(viewport)
    log_in(tab, "editor", app.password)
    width = tab.page.viewport_size["width"]

    page = tab.visit(DESK)
    check_desk_list(page, newsdesk)
    no_horizontal_scroll(page)
    for row in page.locator("#result_list tbody tr").all()[:3]:
        for part in (".field-title a", ".field-balance .bias"):
            box = row.locator(part).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{part} off screen: {box}"
    screenshot(page, f"{viewport}-story-desk")
    tab.assert_clean("the story desk")

    # The second candidate's: no journey drafts it, so it is the same page whenever this test runs.
    page = tab.visit(story_desk_pages(newsdesk)["desk-page"])
    candidate = newsdesk.candidates[1]
    check_desk_page(page, candidate, newsdesk)
    no_horizontal_scroll(page)
    boxes = [column.bounding_box() for column in page.locator(".desk-column").all()]
    for box in boxes:
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"a lean column off screen: {box}"
    if viewport == "phone":  # one above the other, each the full width
        assert len({round(box["x"]) for box in boxes}) == 1, boxes
        assert [box["y"] for box in boxes] == sorted(box["y"] for box in boxes), boxes
        assert min(box["width"] for box in boxes) >= width * 0.8, boxes
    else:  # side by side
        assert len({round(box["y"]) for box in boxes}) == 1, boxes
        assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes), boxes
    screenshot(page, f"{viewport}-story-desk-page")
    tab.assert_clean("the desk page")


def test_a_candidate_becomes_a_draft_then_a_published_story(open_tab, app, newsdesk):
    top = newsdesk.candidates[0]
    assert top["copies"] >= 1 and top["outlets"] > newsdesk.candidates[2]["outlets"], newsdesk.candidates
    section = app.facts["sections"][-1]  # the smallest: the paging test counts the largest one's stories

    # The Editor opens the story desk: the top candidate leads it.
    editor = open_tab("desktop")
    log_in(editor, "editor", app.password)
    page = editor.visit("/admin/")
    editor.click_and_settle(page.locator("#content-main").get_by_role("link", name="Story desk", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Story desk")
    rows = check_desk_list(page, newsdesk)
    assert rows[0]["title"] == top["title"], rows
    editor.assert_clean("the story desk")

    editor.click_and_settle(page.get_by_role("link", name=top["title"], exact=True))
    assert page.url.endswith(desk_page(top)), page.url
    expected = check_desk_page(page, top, newsdesk)
    editor.assert_clean("the desk page")

    # One click: a draft through the one save path, and the article's change page.
    page.get_by_label("Section").select_option(label=section["name"])
    editor.click_and_settle(page.get_by_role("button", name="Make a draft story"))
    assert re.search(r"/admin/articles/article/\d+/change/$", page.url), page.url
    change_url = page.url
    expect(page.locator(".messagelist .success")).to_contain_text(
        f"Drafted the story “{top['title']}” with {top['pieces']} sources"
    )
    expect(page.locator("#id_title")).to_have_value(top["title"])
    expect(page.locator("#id_category option:checked")).to_have_text(section["name"])
    assert paragraphs(page.locator("#id_summary").input_value())[0] == expected["lead"]
    expect(page.locator("#id_ai_summary")).to_be_checked()
    expect(page.locator("select#id_status")).to_have_value("draft")

    # Every piece a source, in the outlets' own words and addresses; the copy marked as one.
    cited = []
    for row in range(top["pieces"]):
        url = page.locator(f"#id_article_sources-{row}-url").input_value()
        wire = page.locator(f"#id_article_sources-{row}-wire_copy").is_checked()
        assert page.locator(f"#id_article_sources-{row}-title").input_value().strip()
        cited.append(url)
        assert wire == (url in expected["copies"]), f"{url}: wire copy ticked {wire}"
    assert sorted(cited) == sorted(expected["urls"])
    expect(page.locator(f"#id_article_sources-{top['pieces']}-url")).to_have_value("")  # the empty row

    # The lead picture: the og:image of a piece, fetched from its outlet, credited to it.
    credit = page.locator("#id_image_credit").input_value()
    assert credit in {outlet["domain"] for outlet in corpus.outlets()}, credit
    stored = page.locator(".field-image .file-upload a").get_attribute("href")
    assert stored.startswith("/media/"), stored
    assert same_picture(app.url + stored, newsdesk, credit), f"{stored} is not {credit}'s picture"
    load_every_image(page)

    # The bias computed from the outlets' leans: the desk's bar, now the story's.
    expect(
        page.locator("#id_bias_rating-0-method").get_by_label("Computed from the sources' leans")
    ).to_be_checked()
    rating = tuple(
        int(page.locator(f"#id_bias_rating-0-{side}").input_value()) for side in ("left", "center", "right")
    )
    assert rating == expected["balance"], (rating, expected["balance"])
    editor.assert_clean("the drafted story")

    # Back on the desk, the candidate has left the open list and links to its story.
    page = editor.visit(desk_page(top))
    expect(page.locator("#desk-story")).to_contain_text("draft")
    expect(page.locator("#desk-story a")).to_have_attribute("href", change_url.removeprefix(app.url))
    expect(page.get_by_role("button", name="Make a draft story")).to_have_count(0)
    page = editor.visit(DESK)
    expect(page.locator("#result_list").get_by_role("link", name=top["title"], exact=True)).to_have_count(0)
    editor.assert_clean("the desk after the draft")

    # The Editor publishes it as any story (test_workflow's way).
    page = editor.visit(change_url)
    page.locator("select#id_status").select_option("published")
    editor.click_and_settle(page.get_by_role("button", name="Save and continue editing"))
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    slug = page.locator("#id_slug").input_value()
    assert status_badge(editor, top["title"]) == "Published"
    editor.assert_clean("publishing")

    # A reader reads it: picture and credit, the computed bias bar, the sources, the AI note.
    reader = open_tab("desktop")
    page = reader.visit(f"/{section['slug']}/{slug}/")
    story = page.locator("article.story")
    expect(story.get_by_role("heading", level=1)).to_have_text(top["title"])
    assert min(loaded_size(page, "article.story .story-image img")) > 0
    expect(story.locator(".story-image figcaption.credit")).to_have_text(f"Image from {credit}")
    bar = story.locator(".story-bias .bias[role=img]")
    assert coverage(bar) == expected["balance"]
    expect(bar.locator(".bias-label")).to_have_text([f"{s} {v}%" for s, v in zip("LCR", rating, strict=True)])
    expect(story.locator(".story-bias .bias-note")).to_contain_text(
        "Computed from the leans of this story's sources"
    )
    expect(story.locator(".story-summary p").first).to_have_text(expected["lead"])
    links = story.locator(".story-sources .source-item a.source-link")
    expect(links).to_have_count(top["pieces"])
    assert sorted(links.evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")) == sorted(cited)
    for link in links.all():
        assert link.get_attribute("target") == "_blank"
        assert {"noopener", "noreferrer"} <= set(link.get_attribute("rel").split())
    expect(story.locator(".disclaimer")).to_be_visible()
    expect(story.locator(".disclaimer")).to_contain_text("artificial intelligence")
    load_every_image(page)
    reader.assert_clean("the published story")


def test_a_writer_drafts_from_the_desk_but_cannot_publish(open_tab, app, newsdesk):
    last = newsdesk.candidates[-1]
    writer = open_tab("desktop")
    log_in(writer, "writer", app.password)
    page = writer.visit(desk_page(last))
    page.get_by_label("Section").select_option(label=app.facts["sections"][-1]["name"])
    writer.click_and_settle(page.get_by_role("button", name="Make a draft story"))
    assert re.search(r"/admin/articles/article/\d+/change/$", page.url), page.url
    expect(page.locator(".messagelist .success")).to_contain_text(f"Drafted the story “{last['title']}”")
    expect(page.locator("select#id_status")).to_have_count(0)
    expect(page.locator(".field-status .readonly")).to_have_text("Draft")
    writer.assert_clean("the writer's draft")
