"""The newsroom in the admin: a Writer drafts and previews a story but cannot publish it; an Editor
publishes it; then an anonymous reader finds it on the front page and in its section.

Every admin page runs under the same strict Content-Security-Policy as the public site, and the
Guard fails the test on any CSP violation, console error or failed request there too.
"""

import io
import re
import secrets

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.browser.pages import check_article

pytestmark = pytest.mark.browser

BIAS = {"left": 20, "center": 50, "right": 30}


def lead_jpeg() -> bytes:
    image = Image.new("RGB", (1280, 720), (24, 82, 120))
    draw = ImageDraw.Draw(image)
    draw.ellipse((820, 120, 1080, 380), fill=(250, 214, 120))
    draw.rectangle((0, 560, 1280, 720), fill=(18, 50, 70))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def log_in(tab, username: str, password: str) -> Page:
    page = tab.visit("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    tab.click_and_settle(page.get_by_role("button", name="Log in"))
    assert page.url.endswith("/admin/"), page.url
    expect(page.locator("#user-tools")).to_contain_text("Log out")
    tab.assert_clean(f"login as {username}")
    return page


def pick_outlet(page: Page, row: int, name: str) -> None:
    """Choose an outlet through the select2 autocomplete of an inline row, as an editor would."""
    select = f"#id_article_sources-{row}-source"
    # Opening the box lists outlets at once; wait for that list, or typing would make select2
    # abort its request (a failed request to the Guard).
    with page.expect_response(lambda r: "autocomplete/" in r.url and "term=" not in r.url):
        page.locator(f"{select} + .select2 .select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    with page.expect_response(re.compile(r"/autocomplete/\?.*term=")):
        search.fill(name.split()[-1])
    option = page.locator(".select2-container--open .select2-results__option", has_text=name)
    option.click()
    expect(page.locator(f"{select} + .select2 .select2-selection__rendered")).to_contain_text(name)


def status_badge(tab, title: str) -> str:
    page = tab.visit(f"/admin/articles/article/?q={title.split()[-1]}")
    row = page.locator("#result_list tbody tr", has_text=title)
    expect(row).to_have_count(1)
    return row.locator(".badge").inner_text().strip()


def test_writer_drafts_editor_publishes_reader_sees(open_tab, app):
    token = secrets.token_hex(3)
    title = f"Harbour ferries keep their winter timetable {token}"
    outlets = [app.facts["sources"][0]["name"], app.facts["sources"][-1]["name"]]
    # The smallest section: the paging test counts the stories of the largest one.
    section = app.facts["sections"][-1]

    # A Writer drafts the story.
    writer = open_tab("desktop")
    page = log_in(writer, "writer", app.password)
    page = writer.visit("/admin/articles/article/add/")
    page.locator("#id_title").press_sequentially(title)  # typed: the slug fills in from key presses
    expect(page.locator("#id_slug")).to_have_value(
        re.compile(r"^harbour-ferries-keep-their-winter-timetable")
    )
    page.locator("#id_category").select_option(label=section["name"])
    page.locator("#id_summary").fill(
        "Ferry operators kept the **winter timetable** after a vote on Tuesday.\n\n"
        "Passenger groups asked for later sailings on Fridays."
    )
    page.locator("#id_ai_summary").check()
    page.locator("#id_image").set_input_files(
        {"name": "ferry.jpg", "mimeType": "image/jpeg", "buffer": lead_jpeg()}
    )
    page.locator("#id_image_alt").fill("A ferry leaving the harbour at dusk")
    page.locator("#id_image_credit").fill("harbourledger.example")
    expect(page.locator("select#id_status")).to_have_count(0)  # Writers cannot choose the status

    pick_outlet(page, 0, outlets[0])
    page.locator("#id_article_sources-0-url").fill(f"https://news.example.org/ferries-{token}")
    page.locator("#article_sources-group").get_by_role("button", name=re.compile("Add another")).click()
    pick_outlet(page, 1, outlets[1])
    page.locator("#id_article_sources-1-url").fill(f"https://other.example.net/{token}/ferries")
    page.locator("#id_article_sources-1-position").fill("1")

    expect(
        page.locator("#bias_rating-group").get_by_role("button", name=re.compile("Add another"))
    ).to_have_count(0)
    page.locator("#id_bias_rating-0-method").get_by_label("Set by an editor").check()
    for side, value in BIAS.items():
        page.locator(f"#id_bias_rating-0-{side}").fill(str(value))
    writer.click_and_settle(page.get_by_role("button", name="Save and continue editing"))
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    change_url = page.url
    assert re.search(r"/admin/articles/article/\d+/change/$", change_url), change_url
    writer.assert_clean("the writer's add form")
    assert status_badge(writer, title) == "Draft"

    # The Writer previews the draft in a new tab: the reader's page with a preview banner.
    page = writer.visit(change_url)
    with writer.context.expect_page() as popup:
        page.get_by_role("link", name="Preview", exact=True).click()
    preview = popup.value
    preview.wait_for_load_state("networkidle")
    expect(preview.locator(".preview-banner")).to_contain_text("This is a draft")
    expect(preview.get_by_role("heading", level=1)).to_have_text(title)
    check_article(preview, flagged=True, posted=False)
    labels = preview.locator("article.story .story-bias .bias-label").all_inner_texts()
    assert labels == [f"L {BIAS['left']}%", f"C {BIAS['center']}%", f"R {BIAS['right']}%"]
    expect(preview.locator("article.story .source-item .source-name")).to_have_text(outlets)
    preview.close()
    writer.assert_clean("the preview")

    # The Writer cannot publish: no status field, no publish action, and a forged field is ignored.
    page = writer.visit(change_url)
    expect(page.locator("select#id_status")).to_have_count(0)
    expect(page.locator(".field-status .readonly")).to_have_text("Draft")
    page.evaluate(
        """() => { const input = document.createElement("input");
        input.type = "hidden"; input.name = "status"; input.value = "published";
        document.querySelector("#article_form").append(input); }"""
    )
    writer.click_and_settle(page.get_by_role("button", name="Save and continue editing"))
    page = writer.visit("/admin/articles/article/")
    actions = page.locator("select[name=action] option").evaluate_all("(os) => os.map((o) => o.value)")
    assert "publish_selected" not in actions and "unpublish_selected" not in actions, actions
    assert status_badge(writer, title) == "Draft"
    writer.assert_clean("the writer's attempts to publish")

    # Before publishing, readers do not see it (and the front page is now in the page cache).
    early_reader = open_tab("desktop")
    page = early_reader.visit("/")
    expect(page.get_by_role("link", name=title)).to_have_count(0)
    early_reader.visit(f"/{section['slug']}/")
    early_reader.assert_clean()

    # An Editor publishes it from the same form, where the status is a real choice.
    editor = open_tab("desktop")
    log_in(editor, "editor", app.password)
    page = editor.visit(change_url)
    page.locator("select#id_status").select_option("published")
    editor.click_and_settle(page.get_by_role("button", name="Save and continue editing"))
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    assert status_badge(editor, title) == "Published"
    editor.assert_clean("the editor's publishing")

    # A reader (a new one: browsers may keep a page for 30 s) now finds it on the front page, first
    # in its section, and reads it: publishing replaced the cached pages at once.
    reader = open_tab("desktop")
    page = reader.visit("/")
    link = page.locator("main").get_by_role("link", name=title, exact=True).first
    expect(link).to_be_visible()
    slug_path = link.get_attribute("href")
    assert slug_path.startswith(f"/{section['slug']}/harbour-ferries-keep-their-winter-timetable")
    page = reader.visit(f"/{section['slug']}/")
    expect(page.locator("main .card-title a").first).to_have_text(title)
    reader.click_and_settle(page.locator("main .card-title a").first)
    assert page.url == app.url + slug_path
    check_article(page, flagged=True)
    expect(page.locator("article.story .source-item .source-name")).to_have_text(outlets)
    reader.assert_clean("the reader's visit")
