"""Revisions: every save keeps one (who, when, what changed, sources and bias included), the History
page shows readable differences, and an earlier revision can be restored as a new one."""

import re
from pathlib import PurePosixPath

import pytest
import reversion
from django.contrib.postgres.search import SearchQuery
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from reversion.models import Version

from articles.admin.history import HISTORY_PER_PAGE
from articles.models import Article, ArticleSource, BiasRating, Category
from articles.newsroom import stories
from articles.newsroom.revisions import record as revisions
from tests.admin.test_admin import ADD, CHANGELIST, browser_post, citations, rating, story
from tests.factories import ArticleFactory, SourceFactory, import_one_story
from tests.newsroom.test_locking import change_url, edited, opened_form, page_text

pytestmark = pytest.mark.django_db


def history_url(article):
    return reverse("admin:articles_article_history", args=[article.pk])


def restore_url(article, version):
    return reverse("admin:articles_article_history_restore", args=[article.pk, version.pk])


def versions_of(article):
    """The story's recorded versions, oldest first."""
    return list(Version.objects.get_for_object(article).select_related("revision__user").order_by("pk"))


def recorded_with(version):
    """What else the version's revision holds: {"articlesource": n, "biasrating": n}."""
    counts = {}
    for other in version.revision.version_set.exclude(pk=version.pk):
        counts[other.content_type.model] = counts.get(other.content_type.model, 0) + 1
    return counts


def changed_in(part: str, label: str, old: str, new: str) -> bool:
    """Whether the diff shows `label` changing from `old` to `new`."""
    arrow = '<span class="diff-arrow">→</span>'
    shown = f'<del class="diff-old">{old}</del> {arrow} <ins class="diff-new">{new}</ins>'
    return f"<dt>{label}</dt>" in part and shown in part


def entry(html: str, version) -> str:
    """One revision's section of the History page."""
    start = html.index(f'<section class="module revision" id="revision-{version.pk}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def outlets(db):
    return (
        SourceFactory(name="Harbour Gazette", domain="gazette.example", bias="center"),
        SourceFactory(name="Dockside Daily", domain="daily.example", bias="left"),
        SourceFactory(name="Quay Courier", domain="courier.example", bias="right"),
    )


@pytest.fixture
def drafted(editor_client, outlets):
    """A draft created in the admin with two sources and an editorial rating."""
    gazette, daily, _ = outlets
    response = browser_post(
        editor_client,
        ADD,
        **story(title="Harbour talks resume", summary="Talks resume.\n\nBoth sides attend."),
        **citations(gazette, daily),
        **rating(left=15, center=80, right=5),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Article.objects.get(slug="talks-resume")


# --- Recording ------------------------------------------------------------------------------------


def test_each_admin_save_records_the_whole_story_with_who_and_what_changed(editor_client, editor, drafted):
    (created,) = versions_of(drafted)
    assert created.revision.user == editor
    assert created.revision.comment == "Created the story."
    assert recorded_with(created) == {"articlesource": 2, "biasrating": 1}
    assert created.field_dict["lock_version"] == 0

    response = browser_post(editor_client, change_url(drafted), title="Harbour talks stall")
    assert response.status_code == 302
    _, changed = versions_of(drafted)
    assert changed.revision.user == editor
    assert changed.revision.comment == "Changed Title."
    assert changed.field_dict["title"] == "Harbour talks stall"
    assert changed.field_dict["lock_version"] == 1
    # The revision holds the sources and rating too, though they did not change: it is a whole snapshot.
    assert recorded_with(changed) == {"articlesource": 2, "biasrating": 1}


def test_a_refused_save_records_nothing(editor_client, drafted):
    response = browser_post(editor_client, change_url(drafted), title="")
    assert response.status_code == 200
    assert len(versions_of(drafted)) == 1


def test_bulk_publish_records_a_revision_per_story(editor_client, editor, outlets):
    for slug in ("first", "second"):
        browser_post(editor_client, ADD, **story(title=slug.title(), slug=slug), **citations(outlets[0]))
    stories = list(Article.objects.order_by("pk"))
    response = editor_client.post(
        CHANGELIST, {"action": "publish_selected", "_selected_action": [a.pk for a in stories], "index": "0"}
    )
    assert response.status_code == 302
    for article in stories:
        _created, published = versions_of(article)
        assert published.revision.user == editor
        assert published.revision.comment == "Status changed from Draft to Published."
        assert published.revision.version_set.count() == 3  # the story, its source, its computed rating
        assert published.field_dict["status"] == "published"
        assert Article.objects.get(pk=article.pk).lock_version == 1
    html = editor_client.get(history_url(stories[0])).content.decode()
    part = entry(html, versions_of(stories[0])[1])
    assert changed_in(part, "Status", "Draft", "Published")


def test_the_importer_records_a_revision_naming_the_file_and_none_when_nothing_changes(
    tmp_path, editor_client
):
    import_one_story(tmp_path)
    article = Article.objects.get(slug="harbour-strike")
    (imported,) = versions_of(article)
    assert imported.revision.comment == "Imported from import.json"
    assert imported.revision.user is None
    import_one_story(tmp_path)  # the same file again: nothing changes, nothing is recorded
    assert len(versions_of(article)) == 1
    assert Article.objects.get(pk=article.pk).lock_version == 0
    import_one_story(tmp_path, summary="Dockers return to work on Monday.")
    assert len(versions_of(article)) == 2
    assert Article.objects.get(pk=article.pk).lock_version == 1
    text = page_text(editor_client.get(history_url(article)))
    assert "no user (an import or a script)" in text
    assert "Imported from import.json" in text


# --- The History page -----------------------------------------------------------------------------


def test_history_shows_each_change_in_plain_words(editor_client, editor, drafted, outlets, make_image):
    gazette, daily, courier = outlets
    fields = opened_form(editor_client, change_url(drafted))
    gazette_row = next(
        k[: -len("-source")] for k, v in fields.items() if k.endswith("-source") and v == str(gazette.pk)
    )
    daily_row = next(
        k[: -len("-source")] for k, v in fields.items() if k.endswith("-source") and v == str(daily.pk)
    )
    upload = SimpleUploadedFile("harbour.jpg", make_image("JPEG", (640, 320)), content_type="image/jpeg")
    politics = Category.objects.get(slug="politics")
    response = editor_client.post(
        change_url(drafted),
        edited(
            fields,
            title="Harbour talks stall",
            summary="Talks stall.\n\nBoth sides attend.",
            category=str(politics.pk),
            status="published",
            published_at_0="2030-01-01",
            published_at_1="09:00:00",
            image=upload,
            image_alt="Cranes at dusk",
            image_credit="gazette.example",
            ai_summary="on",
            featured="on",
            **{
                f"{gazette_row}-title": "Talks stall at the harbour",
                f"{daily_row}-DELETE": "on",
                "article_sources-2-source": str(courier.pk),
                "article_sources-2-url": "https://courier.example/talks",
                "article_sources-2-title": "Courier report",
                "article_sources-2-position": "2",
                "article_sources-TOTAL_FORMS": "3",
                "bias_rating-0-left": "50",
                "bias_rating-0-center": "0",
                "bias_rating-0-right": "50",
            },
        ),
    )
    assert response.status_code == 302, page_text(response)[:3000]
    drafted.refresh_from_db()
    latest = versions_of(drafted)[-1]
    html = editor_client.get(history_url(drafted)).content.decode()
    part = entry(html, latest)
    text = " ".join(re.sub(r"<[^>]+>", " ", part).split())
    assert "editor" in text and "(latest)" in text
    assert "Changed Title, Section, Summary, AI-written summary, Lead image" in text  # the comment

    def changed(label, old, new):
        return changed_in(part, label, old, new)

    assert changed("Title", "Harbour talks resume", "Harbour talks stall")
    assert changed("Section", "World", "Politics")
    assert changed("Status", "Draft", "Published")
    assert changed(
        "Publish time", "not set (publish time is the moment it is published)", "1 Jan 2030, 09:00 GMT"
    )
    assert changed("Lead image", "no image", PurePosixPath(drafted.image.name).name)
    assert changed("Image description", "(empty)", "Cranes at dusk")
    assert changed("Image credit", "(empty)", "gazette.example")
    assert changed("AI-written summary", "No", "Yes")
    assert changed("Featured", "No", "Yes")
    # The summary: word by word on the changed line, the unchanged paragraph shown as it is.
    assert '<p class="diff-line"><del>resume.</del><ins>stall.</ins></p>' in part.replace("Talks ", "")
    assert "Both sides attend." in part
    # Sources by outlet and link; the rating with its method.
    assert (
        "Changed: Harbour Gazette — https://gazette.example/story-0 (“Talks stall at the harbour”): "
        "headline: “Headline 0” → “Talks stall at the harbour”" in text
    )
    assert "Added: Quay Courier — https://courier.example/talks (“Courier report”)" in text
    assert "Removed: Dockside Daily — https://daily.example/story-1 (“Headline 1”)" in text
    assert changed(
        "Bias rating", "L 15% · C 80% · R 5%, set by an editor", "L 50% · C 0% · R 50%, set by an editor"
    )
    # The first revision lists what the story began with, and can be restored.
    first = entry(html, versions_of(drafted)[0])
    assert "The first recorded version of the story" in first
    assert "Added: Dockside Daily" in " ".join(re.sub(r"<[^>]+>", " ", first).split())
    assert f'href="{restore_url(drafted, versions_of(drafted)[0])}"' in first
    assert "Restore this revision" not in part  # the latest is what the story is now


def test_a_long_summary_shows_the_changed_paragraph_among_its_neighbours(editor_client, drafted):
    paragraphs = [f"Paragraph {n} says something about the harbour." for n in range(1, 8)]
    assert (
        browser_post(editor_client, change_url(drafted), summary="\n\n".join(paragraphs)).status_code == 302
    )
    paragraphs[3] = "Paragraph 4 says something new about the port."
    assert (
        browser_post(editor_client, change_url(drafted), summary="\n\n".join(paragraphs)).status_code == 302
    )
    part = entry(editor_client.get(history_url(drafted)).content.decode(), versions_of(drafted)[-1])
    summary = part[
        part.index('<dd class="change-summary">') : part.index("</dd>", part.index("change-summary"))
    ]
    assert (
        "Paragraph 4 says something <ins>new </ins>about the <del>harbour.</del><ins>port.</ins>" in summary
    )
    assert "Paragraph 3" in summary and "Paragraph 5" in summary
    assert "Paragraph 1" not in summary and "Paragraph 7" not in summary
    assert summary.count('<span class="diff-skip"') == 2  # what was left out, before and after


def test_history_escapes_what_editors_typed(editor_client, drafted):
    response = browser_post(
        editor_client,
        change_url(drafted),
        title='<script>alert("t")</script>',
        summary='<img src=x onerror=alert(1)> & "quotes"',
    )
    assert response.status_code == 302
    html = editor_client.get(history_url(drafted)).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "onerror=alert(1)&gt;" in html
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script either


def test_history_pages_run_a_fixed_number_of_queries(editor_client, drafted):
    def saves(n):
        for i in range(n):
            story = Article.objects.get(pk=drafted.pk)
            story.title = f"Title {i}"
            stories.article_save(article=story, user=None, comment=f"Save {i}")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert editor_client.get(history_url(drafted)).status_code == 200
        return len(queries)

    saves(2)
    few = count()
    saves(30)
    assert count() == few
    html = editor_client.get(history_url(drafted)).content.decode()
    assert html.count('<section class="module revision"') == HISTORY_PER_PAGE
    assert "33 revisions" in html
    last = editor_client.get(history_url(drafted), {"p": "2"}).content.decode()
    assert last.count('<section class="module revision"') == 33 - HISTORY_PER_PAGE
    assert "The first recorded version of the story" in last


def test_a_story_without_revisions_says_so(editor_client):
    article = ArticleFactory()
    text = page_text(editor_client.get(history_url(article)))
    assert "No revisions have been recorded for this story yet" in text


def test_history_pages_of_unknown_stories_or_revisions_are_404(editor_client, drafted):
    other = ArticleFactory()
    with reversion.create_revision():
        revisions.article_recorded(other)
    foreign = versions_of(other)[0]
    own = versions_of(drafted)[0]
    compare = "admin:articles_article_history_compare"
    assert editor_client.get(restore_url(drafted, foreign)).status_code == 404
    assert editor_client.get(reverse(compare, args=[drafted.pk, own.pk, foreign.pk])).status_code == 404
    assert editor_client.get(reverse(compare, args=[drafted.pk, own.pk, own.pk])).status_code == 404
    assert editor_client.get(reverse(compare, args=[999999, own.pk, foreign.pk])).status_code == 404
    assert editor_client.delete(restore_url(drafted, own)).status_code == 405


def test_staff_outside_the_newsroom_cannot_read_the_history(client, django_user_model, drafted):
    client.force_login(django_user_model.objects.create_user(username="intern", is_staff=True))
    assert client.get(history_url(drafted)).status_code == 403
    assert client.get(restore_url(drafted, versions_of(drafted)[0])).status_code == 403


# --- Restoring -----------------------------------------------------------------------------------


@pytest.fixture
def revised(editor_client, drafted, outlets, make_image, media_files):
    """The draft, published with a picture, then edited: new title, picture, sources and rating."""
    first_upload = SimpleUploadedFile("first.jpg", make_image("JPEG", (640, 320)), content_type="image/jpeg")
    response = browser_post(
        editor_client,
        change_url(drafted),
        status="published",
        published_at_0="2026-01-01",
        published_at_1="09:00:00",
        image=first_upload,
        image_alt="The first picture",
        image_credit="gazette.example",
    )
    assert response.status_code == 302, page_text(response)[:2000]
    fields = opened_form(editor_client, change_url(drafted))
    daily_row = next(
        k[: -len("-source")] for k, v in fields.items() if k.endswith("-source") and v == str(outlets[1].pk)
    )
    second_upload = SimpleUploadedFile(
        "second.jpg", make_image("JPEG", (800, 400), color=(0, 0, 200)), content_type="image/jpeg"
    )
    response = editor_client.post(
        change_url(drafted),
        edited(
            fields,
            title="Harbour talks collapse",
            image=second_upload,
            image_alt="The second picture",
            **{
                f"{daily_row}-DELETE": "on",
                "article_sources-2-source": str(outlets[2].pk),
                "article_sources-2-url": "https://courier.example/collapse",
                "article_sources-2-position": "2",
                "article_sources-TOTAL_FORMS": "3",
                "bias_rating-0-method": "sources",
            },
        ),
    )
    assert response.status_code == 302, page_text(response)[:2000]
    return Article.objects.get(pk=drafted.pk)


def test_an_editor_restores_an_earlier_revision_as_a_new_one(editor_client, editor, revised, client):
    created, published, collapsed = versions_of(revised)
    before = Article.objects.get(pk=revised.pk)
    assert before.bias_rating.method == "sources"
    published_sources = snapshot_sources(published)

    page = editor_client.get(restore_url(revised, published))
    assert page.status_code == 200
    text = page_text(page)
    assert "What restoring will change" in text
    assert "Harbour talks collapse → Harbour talks resume" in text
    assert "Added: Dockside Daily" in text and "Removed: Quay Courier" in text

    response = browser_post(editor_client, restore_url(revised, published), form_id="restore-form")
    assert response.status_code == 302
    assert response["Location"] == change_url(revised)
    label = f"{revisions.local_time(published.revision.date_created)} by editor"
    messages = page_text(editor_client.get(response["Location"]))
    assert f"Restored the revision of {label}." in messages

    article = Article.objects.get(pk=revised.pk)
    assert article.title == "Harbour talks resume"
    assert article.image.name == published.field_dict["image"].name
    assert article.image_alt == "The first picture"
    assert snapshot_sources(versions_of(article)[-1]) == published_sources
    assert sorted(ArticleSource.objects.filter(article=article).values_list("url", flat=True)) == sorted(
        row["url"] for row in published_sources
    )
    rated = BiasRating.objects.get(article=article)
    assert (rated.left, rated.center, rated.right, rated.method) == (15, 80, 5, "editorial")
    # Renditions made again for the restored picture, and on disk; the live story says "Updated".
    assert set(article.renditions) >= {"thumb", "480"}
    assert all(default_storage.exists(entry["jpg"]) for entry in article.renditions.values())
    assert article.modified_at > before.modified_at
    assert article.lock_version == before.lock_version + 1
    assert article.updated_by == editor
    public = client.get(article.get_absolute_url())
    assert "Harbour talks resume" in public.content.decode()
    # A new revision; the earlier three are untouched.
    history = versions_of(article)
    assert [v.pk for v in history[:3]] == [created.pk, published.pk, collapsed.pk]
    assert history[3].revision.comment == f"Restored the revision of {label}"
    assert history[2].field_dict["title"] == "Harbour talks collapse"
    assert recorded_with(history[3]) == {"articlesource": 2, "biasrating": 1}
    assert "Restored the revision of" in page_text(editor_client.get(history_url(article)))


def snapshot_sources(version):
    return [
        {k: row[k] for k in ("source_id", "url", "title")}
        for row in revisions.snapshots_of([version], version.field_dict["id"])[version.pk].sources
    ]


@pytest.mark.postgres
def test_a_restore_rewrites_the_search_vector(editor_client, revised):
    published = versions_of(revised)[1]
    assert (
        browser_post(editor_client, restore_url(revised, published), form_id="restore-form").status_code
        == 302
    )
    stories = Article.objects.filter(pk=revised.pk)
    assert stories.filter(search_vector=SearchQuery("resume", config="english")).exists()
    assert not stories.filter(search_vector=SearchQuery("collapse", config="english")).exists()


def test_a_writer_cannot_publish_through_a_restore(editor_client, writer_client, revised):
    editor_client.post(
        CHANGELIST, {"action": "unpublish_selected", "_selected_action": [revised.pk], "index": "0"}
    )
    published = versions_of(revised)[1]
    page = writer_client.get(restore_url(revised, published))
    assert page.status_code == 200
    assert "The status stays Draft: only editors can publish or unpublish." in page_text(page)
    response = browser_post(writer_client, restore_url(revised, published), form_id="restore-form")
    assert response.status_code == 302
    article = Article.objects.get(pk=revised.pk)
    assert (article.title, article.status) == ("Harbour talks resume", "draft")
    forged = writer_client.post(
        restore_url(revised, versions_of(revised)[2]),
        {"lock_version": article.lock_version, "status": "published"},
    )
    assert forged.status_code == 302
    assert Article.objects.get(pk=revised.pk).status == "draft"


def test_a_writer_cannot_restore_a_published_story(writer_client, revised):
    created = versions_of(revised)[0]
    assert writer_client.get(restore_url(revised, created)).status_code == 403
    assert (
        writer_client.post(restore_url(revised, created), {"lock_version": revised.lock_version}).status_code
        == 403
    )
    assert "Restore this revision" not in writer_client.get(history_url(revised)).content.decode()
    assert Article.objects.get(pk=revised.pk).title == "Harbour talks collapse"


def test_a_restore_is_refused_when_the_story_changed_since_the_page_was_opened(editor_client, revised):
    created = versions_of(revised)[0]
    fields = opened_form(editor_client, restore_url(revised, created), form_id="restore-form")
    assert browser_post(editor_client, change_url(revised), title="Saved meanwhile").status_code == 302
    response = editor_client.post(restore_url(revised, created), fields)
    assert response.status_code == 200
    text = page_text(response)
    assert "You (in another tab or window) saved this story at" in text
    assert "after you opened this page. Look at the changes below again before you restore." in text
    assert "Saved meanwhile → Harbour talks resume" in text  # the page shows the changes as they are now
    assert Article.objects.get(pk=revised.pk).title == "Saved meanwhile"
    assert len(versions_of(revised)) == 4


def test_a_restore_that_cannot_be_done_says_why_and_changes_nothing(editor_client, revised):
    created = versions_of(revised)[0]
    assert browser_post(editor_client, change_url(revised), slug="harbour-talks").status_code == 302
    ArticleFactory(slug="talks-resume", title="Another story")
    response = browser_post(editor_client, restore_url(revised, created), form_id="restore-form")
    assert response.status_code == 200
    assert (
        "This revision cannot be restored: its web address “talks-resume” is now used by another story."
        in page_text(response)
    )
    article = Article.objects.get(pk=revised.pk)
    assert (article.slug, article.title) == ("harbour-talks", "Harbour talks collapse")


def test_restoring_the_current_state_is_refused(editor_client, revised):
    latest = versions_of(revised)[-1]
    page = editor_client.get(restore_url(revised, latest))
    assert "No change to the story, its sources or its bias rating." in page_text(page)
    assert 'id="restore-form"' not in page.content.decode()
    response = editor_client.post(restore_url(revised, latest), {"lock_version": revised.lock_version})
    assert "there is nothing to restore" in page_text(response)
    assert len(versions_of(revised)) == 3


def test_the_restore_page_is_labelled_for_the_browser(editor_client, revised):
    created = versions_of(revised)[0]
    html = editor_client.get(restore_url(revised, created)).content.decode()
    assert '<input type="submit" class="default" id="restore-revision" value="Restore this revision">' in html
    assert "style=" not in html
    history = editor_client.get(history_url(revised)).content.decode()
    assert f'id="revision-{created.pk}"' in history
    assert history.count('<a class="button restore-link"') == 2  # every revision but the latest


def test_restoring_an_earlier_picture_leaves_no_copies_of_its_sizes(editor_client, revised, media_files):
    """The earlier picture's sizes are made again under their own names (replacing the ones made
    when it was current), never beside them under random names nothing would remove."""
    _created, published, _collapsed = versions_of(revised)
    before = set(media_files())
    response = browser_post(editor_client, restore_url(revised, published), form_id="restore-form")
    assert response.status_code == 302
    article = Article.objects.get(pk=revised.pk)
    names = {entry[ext] for entry in article.renditions.values() for ext in ("jpg", "webp")}
    stem = PurePosixPath(article.image.name).with_suffix("").name
    assert all(PurePosixPath(name).name.startswith(f"{stem}_") for name in names)
    assert all(PurePosixPath(name).stem.split("_")[-1] in {"thumb", "480", "640"} for name in names), names
    assert set(media_files()) == before  # the same files, rewritten; none added
