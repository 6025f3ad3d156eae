"""The newsroom's workflow in a real browser: scheduling without a cron job, a preview shared with
someone who has no login (then revoked), and two editors saving the same story at once.

Each test works on a draft of its own (a copy of a demo story made through manage.py shell), so the
demo newsroom the other tests look at is left as it was.
"""

import json
import re
import secrets
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.pages import check_article
from tests.browser.test_editor import log_in, pick_outlet, status_badge

pytestmark = pytest.mark.browser

SITE_ZONE = ZoneInfo("Europe/London")  # the live app's TIME_ZONE (the settings' default)

COPY_DRAFT = """
import json
from articles.models import Article, ArticleSource, BiasRating
source = Article.objects.published().exclude(image="").filter(bias_rating__isnull=False).first()
sources = list(source.article_sources.all())
rating = source.bias_rating
draft = Article.objects.get(pk=source.pk)
draft.pk = None
draft._saved_image_name = None
draft.title = {title!r}
draft.slug = {slug!r}
draft.status = Article.Status.DRAFT
draft.published_at = None
draft.featured = False
draft.save()
for citation in sources:
    ArticleSource.objects.create(
        article=draft, source_id=citation.source_id, url=citation.url + "#{token}", title=citation.title
    )
BiasRating.objects.create(
    article=draft, left=rating.left, center=rating.center, right=rating.right, method=rating.method
)
print(json.dumps({{"id": draft.pk, "section": draft.category.slug}}))
"""


def make_draft(app, title: str) -> dict:
    token = secrets.token_hex(3)
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    code = COPY_DRAFT.format(title=title, slug=slug, token=token)
    facts = json.loads(app.manage("shell", "-c", code).strip().splitlines()[-1])
    return {**facts, "title": title, "slug": slug, "change": f"/admin/articles/article/{facts['id']}/change/"}


def test_a_scheduled_story_goes_live_on_time_without_a_cron_job(open_tab, app):
    story = make_draft(app, f"Night trains return to the coast line {secrets.token_hex(2)}")
    public_path = f"/{story['section']}/{story['slug']}/"

    # A reader loads the front page first, so it is in the page cache when the story is scheduled.
    reader = open_tab("desktop")
    page = reader.visit("/")
    expect(page.get_by_role("link", name=story["title"])).to_have_count(0)

    editor = open_tab("desktop")
    log_in(editor, "editor", app.password)
    page = editor.visit(story["change"])
    expect(page.locator("#id_published_at_helptext")).to_contain_text("Europe/London")
    due = (datetime.now(SITE_ZONE) + timedelta(seconds=25)).replace(microsecond=0)
    page.locator("select#id_status").select_option("published")
    page.locator("#id_published_at_0").fill(due.strftime("%d/%m/%Y"))
    page.locator("#id_published_at_1").fill(due.strftime("%H:%M:%S"))
    editor.click_and_settle(page.get_by_role("button", name="Save and continue editing"))
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    expect(page.locator("#id_published_at_1")).to_have_value(due.strftime("%H:%M:%S"))
    assert status_badge(editor, story["title"]) == "Scheduled"
    row = editor.page.locator("#result_list tbody tr", has_text=story["title"])
    expect(row.locator(".scheduled-at")).to_contain_text(f"{due:%-d %b %Y, %H:%M %Z}")
    page = editor.visit("/admin/")
    expect(page.locator("#dashboard-scheduled")).to_contain_text(story["title"])
    editor.assert_clean("scheduling")

    # Before its time: on no public page, and its address is the friendly 404.
    early = open_tab("phone")
    page = early.visit("/")
    expect(page.get_by_role("link", name=story["title"])).to_have_count(0)
    page = early.visit(public_path, status=404)
    early.assert_clean("before the publish time")
    assert datetime.now(SITE_ZONE) < due, "the machine was too slow to look before the publish time"

    # Nothing runs in the background: the time passing is enough, cached pages included.
    time.sleep(max(0.0, (due - datetime.now(SITE_ZONE)).total_seconds()) + 1.5)
    late = open_tab("phone")
    page = late.visit("/")
    expect(page.locator("main").get_by_role("link", name=story["title"], exact=True).first).to_be_visible()
    page = late.visit(f"/{story['section']}/")
    expect(page.locator("main .card-title a").first).to_have_text(story["title"])
    page = late.visit(public_path)
    check_article(page, flagged=None)
    late.assert_clean("after the publish time")
    assert status_badge(editor, story["title"]) == "Published"


def test_an_editor_shares_a_draft_with_someone_without_a_login_then_revokes_it(open_tab, app):
    story = make_draft(app, f"Lighthouse keepers vote on a shorter season {secrets.token_hex(2)}")
    editor = open_tab("desktop")
    log_in(editor, "editor", app.password)
    page = editor.visit(story["change"])
    editor.click_and_settle(page.locator("#share-preview-link"))
    page.get_by_label("1 day").check()
    page.locator("#id_label").fill("for the legal desk")
    editor.click_and_settle(page.locator("#create-preview-link"))
    link = page.locator("#new-preview-link-url").input_value()
    assert re.match(rf"^{re.escape(app.url)}/preview/[^/]+/$", link), link
    expect(page.locator("#preview-links")).to_contain_text("for the legal desk")
    editor.assert_clean("creating a share link")

    # Someone with no login opens it: the story's preview, labelled as such, and nothing else.
    guest = open_tab("phone")
    response = guest.page.goto(link)
    assert response.status == 200
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["x-robots-tag"].startswith("noindex")
    expect(guest.page.get_by_role("heading", level=1)).to_have_text(story["title"])
    expect(guest.page.locator(".preview-banner")).to_contain_text("not published")
    assert guest.page.locator("a[href*='/admin/']").count() == 0
    assert not guest.context.cookies(), guest.context.cookies()
    guest.assert_clean("the shared preview")
    # The story is still not public.
    guest.visit(f"/{story['section']}/{story['slug']}/", status=404)

    # The editor revokes it; the link stops working at once, with a plain explanation.
    page = editor.visit(story["change"])
    editor.click_and_settle(page.locator("#share-preview-link"))
    editor.click_and_settle(page.get_by_role("button", name="Revoke the link for the legal desk"))
    expect(page.locator("#preview-links")).to_contain_text("Revoked")
    editor.assert_clean("revoking")
    later = open_tab("desktop")
    page = later.visit(link, status=410)
    expect(page.get_by_role("heading", level=1)).to_have_text("This preview link no longer works")
    expect(page.locator("body")).not_to_contain_text(story["title"])
    later.assert_clean("the revoked link")


def test_two_editors_save_the_same_story_and_the_second_is_told_instead_of_overwriting(open_tab, app):
    story = make_draft(app, f"Bridge repairs close the north lane {secrets.token_hex(2)}")
    first, second = open_tab("desktop"), open_tab("desktop")
    log_in(first, "editor", app.password)
    log_in(second, "editor", app.password)
    page_one = first.visit(story["change"])
    page_two = second.visit(story["change"])

    # The first editor fixes the headline and saves.
    fixed_title = story["title"] + " for a month"
    page_one.locator("#id_title").fill(fixed_title)
    first.click_and_settle(page_one.get_by_role("button", name="Save and continue editing"))
    expect(page_one.locator(".messagelist .success")).to_contain_text("was changed successfully")
    first.assert_clean("the first save")

    # The second, who opened the story before that save, rewrites the summary and saves.
    summary = "Engineers start on the north lane on Monday.\n\nBuses keep their stops on the south side."
    page_two.locator("#id_summary").fill(summary)
    second.click_and_settle(page_two.get_by_role("button", name="Save and continue editing"))
    error = page_two.locator(".errornote, .errorlist.nonfield").first
    expect(error).to_be_visible()
    expect(page_two.locator("#content")).to_contain_text("Your changes were not saved")
    expect(page_two.locator("#id_summary")).to_have_value(summary)  # nothing typed is lost
    expect(page_two.locator("#id_title")).to_have_value(story["title"])  # still what they opened
    changes = page_two.locator("a#lock-conflict-changes")
    expect(changes).to_be_visible()
    with second.context.expect_page() as popup:
        changes.click()
    diff = popup.value
    diff.wait_for_load_state("networkidle")
    expect(diff.locator("#content")).to_contain_text(fixed_title)
    diff.close()
    second.assert_clean("the refused save")

    # The stored story is the first editor's; the history lists their save.
    page = first.visit(story["change"])
    expect(page.locator("#id_title")).to_have_value(fixed_title)
    expect(page.locator("#id_summary")).not_to_have_value(summary)
    page = first.visit(story["change"].replace("/change/", "/history/"))
    expect(page.locator("#content")).to_contain_text(fixed_title)
    first.assert_clean("the history")


# Rated plus unrated sources, as the live bias panel states them, equal to n.
COUNTED_SOURCES = """(n) => {
    const figures = document.querySelector("#sources-bias-figures").textContent;
    const unrated = document.querySelector("#sources-bias-unrated");
    const rated = Number((figures.match(/from (\\d+) rated source/) || [0, 0])[1]);
    const line = unrated && !unrated.hidden ? unrated.textContent : "";
    const others = Number((line.match(/(\\d+) source/) || [0, 0])[1]);
    return rated + others === n;
}"""

# The outlets that have a voice, read from the rows ([id, name], each outlet once): rows neither
# ticked for deletion nor ticked as wire copies.
VOICED_OUTLETS = """() => {
    const ticked = (select, box) => {
        const input = document.querySelector(`[name="${select.name.replace(/-source$/, box)}"]`);
        return Boolean(input && input.checked);
    };
    const voiced = new Map();
    for (const select of document.querySelectorAll('select[name^="article_sources-"]')) {
        if (/^article_sources-\\d+-source$/.test(select.name) && select.value
            && !ticked(select, "-DELETE") && !ticked(select, "-wire_copy")) {
            voiced.set(select.value, select.selectedOptions[0].textContent.trim());
        }
    }
    return [...voiced];
}"""


def test_the_bias_of_the_sources_follows_the_outlets_as_they_are_picked(open_tab, app):
    story = make_draft(app, f"Ferry fares rise on the island routes {secrets.token_hex(2)}")
    editor = open_tab("desktop")
    log_in(editor, "editor", app.password)
    page = editor.visit(story["change"])
    expect(page.locator("#sources-bias")).to_be_visible()
    saved = int(page.locator("#id_article_sources-INITIAL_FORMS").input_value())
    assert saved >= 1
    voiced = page.evaluate(VOICED_OUTLETS)
    page.wait_for_function(COUNTED_SOURCES, arg=len(voiced))

    # The empty row after the saved ones gets an outlet the story does not cite yet: the panel counts
    # it at once, no page load.
    cited = {name for _, name in voiced}
    new = next(s["name"] for s in reversed(app.facts["sources"]) if s["name"] not in cited)
    pick_outlet(page, saved, new)
    page.wait_for_function(COUNTED_SOURCES, arg=len(voiced) + 1)
    # Ticked as a wire copy it has no voice; the same outlet in another row is one voice, not two.
    page.locator(f"#id_article_sources-{saved}-wire_copy").check()
    page.wait_for_function(COUNTED_SOURCES, arg=len(voiced))
    page.locator(f"#id_article_sources-{saved}-wire_copy").uncheck()
    page.locator("#article_sources-group").get_by_role("button", name=re.compile("Add another")).click()
    pick_outlet(page, saved + 1, new)
    page.wait_for_function(COUNTED_SOURCES, arg=len(voiced) + 1)
    # Ticking a saved row for deletion takes its outlet out (unless another row cites it too).
    page.locator("#id_article_sources-0-DELETE").check()
    page.wait_for_function(COUNTED_SOURCES, arg=len(page.evaluate(VOICED_OUTLETS)))
    expect(page.locator("#sources-bias-method")).to_be_visible()
    editor.assert_clean("the live bias panel")
