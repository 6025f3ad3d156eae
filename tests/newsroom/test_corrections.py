"""Corrections: an Editor attaches a public note when changing a live story; readers see it under the
story with its date, the story shows "Updated", and feeds and JSON-LD carry the new modified time."""

import re
from datetime import UTC, datetime

import feedparser
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Correction
from articles.newsroom.corrections import GOING_OFF_SITE, NOT_PUBLIC, correction_add
from articles.site.cache.pagecache import bump_content_version
from tests.admin.test_admin import browser_post
from tests.factories import ArticleFactory, ArticleSourceFactory, BiasRatingFactory
from tests.newsroom.test_scheduling import field_errors
from tests.site.test_seo import head

pytestmark = pytest.mark.django_db

PUBLISHED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
NOTE_LABEL = '<label for="id_correction_note">Public correction note:</label>'


@pytest.fixture
def live():
    article = ArticleFactory(title="Harbour talks resume", published_at=PUBLISHED)
    ArticleSourceFactory(article=article)
    BiasRatingFactory(article=article)
    return article


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def correct(editor_client, article, note, **changes):
    """Post the story's change form as a browser would, with a correction note."""
    return browser_post(editor_client, change_url(article), correction_note=note, **changes)


def corrections_section(html):
    """The reader's "Corrections" list as (datetime attribute, date shown, note HTML) rows."""
    match = re.search(r'<section class="story-corrections".*?</section>', html, re.S)
    if not match:
        return None
    return re.findall(
        r'<li class="correction"><time datetime="([^"]+)">([^<]+)</time>\s*'
        r'<div class="correction-note">(.*?)</div></li>',
        match.group(0),
        re.S,
    )


# --- The form -----------------------------------------------------------------------------------------


def test_an_editor_sees_the_note_field_on_a_live_story_only(editor_client, live):
    html = editor_client.get(change_url(live)).content.decode()
    assert NOTE_LABEL in html
    assert "Readers see this under the story with today's date" in html
    assert "Leave empty for changes that need no note" in html
    assert '<div class="readonly">None yet.</div>' in html  # no earlier corrections
    for other in (
        ArticleFactory(draft=True),
        ArticleFactory(scheduled=True),
        ArticleFactory(unpublished=True),
    ):
        assert NOTE_LABEL not in editor_client.get(change_url(other)).content.decode()
    assert NOTE_LABEL not in editor_client.get(reverse("admin:articles_article_add")).content.decode()


def test_a_correction_is_published_with_its_date_and_marks_the_story_updated(
    editor_client, editor, client, live
):
    before = timezone.now()
    response = correct(editor_client, live, "An earlier version gave the wrong date for the talks.")
    assert response.status_code == 302, response.content.decode()[:3000]
    after = timezone.now()
    correction = Correction.objects.get()
    assert correction.article == live
    assert correction.note == "An earlier version gave the wrong date for the talks."
    assert correction.created_by == editor
    assert before <= correction.created_at <= after
    live.refresh_from_db()
    assert live.modified_at == correction.created_at  # nothing else changed, yet the story is updated
    assert live.title == "Harbour talks resume"
    html = client.get(live.get_absolute_url()).content.decode()
    local = timezone.localtime(correction.created_at)
    assert corrections_section(html) == [
        (
            local.strftime("%Y-%m-%dT%H:%M:%S%z"),
            f"{local.day}{ordinal(local.day)} {local:%b %Y, %H:%M}",
            "<p>An earlier version gave the wrong date for the talks.</p>",
        )
    ]
    assert f'Updated <time datetime="{local.strftime("%Y-%m-%dT%H:%M:%S%z")}">' in html


def ordinal(day):
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def test_a_correction_with_an_edit_saves_both(editor_client, client, live):
    response = correct(
        editor_client, live, "The talks are in Geneva, not Vienna.", title="Geneva talks resume"
    )
    assert response.status_code == 302
    live.refresh_from_db()
    assert live.title == "Geneva talks resume"
    assert Correction.objects.get().note == "The talks are in Geneva, not Vienna."
    assert "The talks are in Geneva, not Vienna." in client.get(live.get_absolute_url()).content.decode()


def test_an_empty_or_blank_note_adds_nothing(editor_client, client, live):
    for note in ("", "  \n  "):
        assert correct(editor_client, live, note).status_code == 302
    assert not Correction.objects.exists()
    live.refresh_from_db()
    assert live.modified_at is None
    assert corrections_section(client.get(live.get_absolute_url()).content.decode()) is None


def test_corrections_are_listed_oldest_first_and_never_rewritten(editor_client, client, live):
    assert correct(editor_client, live, "First: the date was wrong.").status_code == 302
    first = Correction.objects.get()
    form = editor_client.get(change_url(live)).content.decode()
    # The earlier note is shown read-only, with its date and author; there is no input to change it.
    past = form[form.index('class="form-row field-past_corrections"') :]
    assert "First: the date was wrong." in past
    assert "· editor<br>" in past
    assert f'<time datetime="{first.created_at.isoformat(timespec="seconds")}">' in past
    assert 'name="correction_note"' in form and form.count("<textarea") == 2  # summary and the new note
    assert correct(editor_client, live, "Second: the minister's name was misspelt.").status_code == 302
    assert list(Correction.objects.values_list("note", flat=True)) == [
        "First: the date was wrong.",
        "Second: the minister's name was misspelt.",
    ]
    first.refresh_from_db()
    assert first.note == "First: the date was wrong."
    rows = corrections_section(client.get(live.get_absolute_url()).content.decode())
    assert [note for _, _, note in rows] == [
        "<p>First: the date was wrong.</p>",
        "<p>Second: the minister&#x27;s name was misspelt.</p>",
    ]


def test_a_note_is_plain_text_with_its_line_breaks_kept(editor_client, client, live):
    note = "We said <b>Vienna</b> & <script>alert(1)</script>.\nIt was Geneva.\n\nApologies."
    assert correct(editor_client, live, note).status_code == 302
    html = client.get(live.get_absolute_url()).content.decode()
    [(_, _, shown)] = corrections_section(html)
    assert shown == (
        "<p>We said &lt;b&gt;Vienna&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;."
        "<br>It was Geneva.</p>\n\n<p>Apologies.</p>"
    )
    assert "<script>alert(1)</script>" not in html
    form = editor_client.get(change_url(live)).content.decode()
    assert "&lt;b&gt;Vienna&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;.<br>It was Geneva." in form


# --- Refusals: nothing public yet, a save taking the story off the site, a Writer ---------------------


@pytest.mark.parametrize("state", ["draft", "scheduled", "unpublished"])
def test_a_note_on_a_story_that_is_not_public_is_refused(editor_client, state):
    article = ArticleFactory(title="Not out yet", **{state: True})
    response = correct(editor_client, article, "A note about nothing public.", title="Changed title")
    assert response.status_code == 200
    html = response.content.decode()
    assert field_errors(html, "correction_note") == [NOT_PUBLIC]
    assert "A note about nothing public.</textarea>" in html  # what the editor typed is kept
    article.refresh_from_db()
    assert article.title == "Not out yet"
    assert article.modified_at is None
    assert not Correction.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [{"status": "draft"}, {"published_at_0": "01/01/2099", "published_at_1": "09:00"}],
    ids=["unpublish", "reschedule"],
)
def test_a_note_with_a_save_that_takes_the_story_off_the_site_is_refused(editor_client, live, changes):
    response = correct(editor_client, live, "Corrected the date.", **changes)
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "correction_note") == [GOING_OFF_SITE]
    live.refresh_from_db()
    assert live.is_published()
    assert not Correction.objects.exists()


def test_a_note_that_is_too_long_is_refused(editor_client, live):
    response = correct(editor_client, live, "x" * 2001)
    assert response.status_code == 200
    [error] = field_errors(response.content.decode(), "correction_note")
    assert "at most 2000 characters" in error
    assert not Correction.objects.exists()


def test_a_story_unpublished_while_the_editor_typed_keeps_the_note_and_says_why(editor_client, live):
    """The form was opened on a live story; another editor unpublishes it before this one saves."""
    url = change_url(live)
    opened = editor_client.get(url)
    assert NOTE_LABEL in opened.content.decode()
    Article.objects.filter(pk=live.pk).update(status=Article.Status.DRAFT)
    response = browser_post(editor_client, url, correction_note="Corrected the date.")
    assert response.status_code == 200
    html = response.content.decode()
    assert field_errors(html, "correction_note") == [NOT_PUBLIC]
    assert "Corrected the date.</textarea>" in html
    assert not Correction.objects.exists()


def test_a_writer_cannot_add_a_correction(writer_client, writer, live):
    page = writer_client.get(change_url(live))
    assert page.status_code == 403 or NOTE_LABEL not in page.content.decode()
    forged = writer_client.post(
        change_url(live), {"title": "Forged", "correction_note": "A forged correction."}, follow=False
    )
    assert forged.status_code == 403
    live.refresh_from_db()
    assert live.title == "Harbour talks resume" and live.modified_at is None
    assert not Correction.objects.exists()
    with pytest.raises(PermissionDenied):
        correction_add(article=live, note="Through the back door.", user=writer)
    assert not Correction.objects.exists()


def test_a_writer_forging_a_note_on_their_draft_gets_the_same_refusal(writer_client):
    draft = ArticleFactory(draft=True, title="My draft")
    response = correct(writer_client, draft, "A forged correction.")
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "correction_note") == [NOT_PUBLIC]
    assert not Correction.objects.exists()


# --- Everything readers and machines are told moves with a correction --------------------------------


def test_a_correction_replaces_the_cached_page_at_once(editor_client, client, live, settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    url = live.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    assert correct(editor_client, live, "Corrected the date.").status_code == 302
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert "Corrected the date." in response.content.decode()


def test_json_ld_lists_the_corrections_and_the_new_modified_time(editor_client, client, live):
    assert correct(editor_client, live, "First: the date.").status_code == 302
    assert correct(editor_client, live, "Second: the name.").status_code == 302
    live.refresh_from_db()
    first, second = Correction.objects.all()
    data = head(client, live.get_absolute_url()).json_ld()
    assert data["correction"] == [
        {
            "@type": "CorrectionComment",
            "text": "First: the date.",
            "datePublished": first.created_at.isoformat(),
        },
        {
            "@type": "CorrectionComment",
            "text": "Second: the name.",
            "datePublished": second.created_at.isoformat(),
        },
    ]
    assert datetime.fromisoformat(data["dateModified"]) == live.modified_at == second.created_at
    assert datetime.fromisoformat(data["datePublished"]) == PUBLISHED


def test_a_story_without_corrections_has_no_correction_in_its_json_ld(client, live):
    assert "correction" not in head(client, live.get_absolute_url()).json_ld()


@pytest.mark.parametrize("feed", ["articles:feed_rss", "articles:feed_atom"])
def test_a_correction_moves_the_feeds_updated_time(editor_client, client, live, feed):
    def entry():
        parsed = feedparser.parse(client.get(reverse(feed)).content)
        assert not parsed.bozo
        [item] = parsed.entries
        return datetime(*item.updated_parsed[:6], tzinfo=UTC)

    assert entry() == PUBLISHED
    assert correct(editor_client, live, "Corrected the date.").status_code == 302
    live.refresh_from_db()
    assert entry() == live.modified_at.replace(microsecond=0)
    assert live.modified_at > PUBLISHED


def test_the_article_page_reads_its_corrections_in_one_more_query(editor_client, client, live, settings):
    """A story never updated reads no corrections; a corrected one exactly one query more than before,
    however many corrections it has. Each render follows a content change, as it would in use."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    url = live.get_absolute_url()

    def render():
        bump_content_version()  # on equal footing: nothing kept from an earlier render
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url).content.decode()
        return len(queries), html

    baseline, html = render()
    assert corrections_section(html) is None
    for n in range(1, 4):
        assert correct(editor_client, live, f"Correction number {n}.").status_code == 302
        count, html = render()
        assert count == baseline + 1, n
        assert len(corrections_section(html)) == n


# --- The Correction admin: read-only, deleting needs its own permission ------------------------------


def test_editors_do_not_manage_corrections_outside_the_story(editor_client, editor, live):
    correction_add(article=live, note="Corrected the date.", user=editor)
    assert editor_client.get(reverse("admin:articles_correction_changelist")).status_code == 403
    correction = Correction.objects.get()
    assert (
        editor_client.post(
            reverse("admin:articles_correction_delete", args=[correction.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Correction.objects.exists()


def test_a_superuser_can_remove_a_mistaken_correction_and_readers_stop_seeing_it(
    client, editor, live, admin_client, settings
):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600
    correction_add(article=live, note="Posted on the wrong story.", user=editor)
    correction = Correction.objects.get()
    listing = admin_client.get(reverse("admin:articles_correction_changelist")).content.decode()
    assert "Posted on the wrong story." in listing
    assert reverse("admin:articles_correction_add") not in listing  # added from the story's form only
    page = admin_client.get(
        reverse("admin:articles_correction_change", args=[correction.pk])
    ).content.decode()
    assert 'name="note"' not in page  # read-only: a public record is not rewritten
    url = live.get_absolute_url()
    assert "Posted on the wrong story." in client.get(url).content.decode()
    response = admin_client.post(
        reverse("admin:articles_correction_delete", args=[correction.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Correction.objects.exists()
    assert corrections_section(client.get(url).content.decode()) is None
