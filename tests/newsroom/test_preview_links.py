"""Previews: the staff preview from the admin, and share links an Editor creates for someone without
a login (signed, expiring, revocable). Editors and Writers work through the admin pages as a browser
would (CSRF enforced); the person a link is sent to is an anonymous test client."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from articles.models import Article, PreviewLink
from articles.newsroom import previews as sharing
from tests.factories import ArticleFactory, ArticleSourceFactory, BiasRatingFactory

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/(?:ld\+)?json\"))[^>]*>", re.I)


class _Forms(HTMLParser):
    """Every form on a page: its id, action and the name/value pairs a browser would submit."""

    def __init__(self):
        super().__init__()
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"id": a.get("id"), "action": a.get("action") or "", "fields": {}}
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name"):
            return
        fields, name = self._form["fields"], a["name"]
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file") or (kind in ("radio", "checkbox") and "checked" not in a):
                return
            fields[name] = a.get("value") or ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data


def forms_on(response) -> list[dict]:
    parser = _Forms()
    parser.feed(response.content.decode())
    return parser.forms


def links_page(article) -> str:
    return reverse("admin:articles_article_preview_links", args=[article.pk])


def create_link(client, article, **changes):
    """Open the "Share a preview" page, fill in its form as a browser would and submit it."""
    page = client.get(links_page(article))
    assert page.status_code == 200
    (form,) = [f for f in forms_on(page) if f["id"] == "preview-link-form"]
    return client.post(links_page(article), {**form["fields"], **changes})


def revoke_link(client, article, link):
    """Press the "Revoke" button of the link's row."""
    page = client.get(links_page(article))
    revoke_url = reverse("admin:articles_article_preview_link_revoke", args=[article.pk, link.pk])
    (form,) = [f for f in forms_on(page) if f["action"] == revoke_url]
    return client.post(revoke_url, form["fields"])


def new_link_url(response) -> str:
    match = re.search(
        r'<input type="url" id="new-preview-link-url"[^>]* value="([^"]+)"', response.content.decode()
    )
    assert match, "the new link's address is not on the page"
    return match.group(1)


def public_path(link) -> str:
    return reverse("articles:shared_preview", kwargs={"token": link.token})


def make_link(article, *, user=None, lifetime=timedelta(days=1), label=""):
    return PreviewLink.objects.create(
        article=article, label=label, created_by=user, expires_at=timezone.now() + lifetime
    )


@pytest.fixture
def browser_editor(editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    return client


@pytest.fixture
def browser_writer(writer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(writer)
    return client


@pytest.fixture
def page_cache_on(settings):
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 600


def assert_private_noindex(response):
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
    assert "public" not in cache_control
    assert "noindex" in response["X-Robots-Tag"]
    assert "X-Page-Cache" not in response


# --- Staff preview ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["editor", "writer"])
def test_staff_preview_says_what_state_the_story_is_in(request, role, settings):
    settings.TIME_ZONE = "Europe/London"
    client = request.getfixturevalue(f"{role}_client")
    draft = ArticleFactory(draft=True, title="Draft harbour story")
    # 08:00 UTC on 1 July is 09:00 in London (BST): the banner speaks the site's zone.
    scheduled = ArticleFactory(title="Embargoed budget", published_at=datetime(2030, 7, 1, 8, 0, tzinfo=UTC))
    live = ArticleFactory(title="Live election story")
    expected = {
        draft: "Draft — not public",
        scheduled: "Scheduled for 1st Jul 2030, 09:00 BST",
        live: "Published — live",
    }
    for article, state in expected.items():
        response = client.get(reverse("admin:articles_article_preview", args=[article.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert article.title in html
        assert f'<span class="preview-state">{state}</span>' in html
        assert "<strong>Preview</strong>" in html
        assert reverse("admin:articles_article_change", args=[article.pk]) in html  # "Back to editing"
        assert '<meta name="robots" content="noindex, nofollow">' in html
        assert_private_noindex(response)


def test_staff_preview_of_a_live_story_points_to_its_public_page(editor_client):
    live = ArticleFactory(title="Live election story")
    html = editor_client.get(reverse("admin:articles_article_preview", args=[live.pk])).content.decode()
    assert f'<a href="{live.get_absolute_url()}">at its public address</a>' in html


def test_staff_preview_is_never_stored_for_anonymous_readers(editor_client, client, page_cache_on):
    draft = ArticleFactory(draft=True, title="Secret draft")
    url = reverse("admin:articles_article_preview", args=[draft.pk])
    for _ in range(2):
        response = editor_client.get(url)
        assert response.status_code == 200
        assert_private_noindex(response)
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))
    assert b"Secret draft" not in anonymous.content
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_previews_and_links_pages_of_an_unknown_or_malformed_id_are_404(editor_client):
    for object_id in ("999999", "not-a-number"):
        for name in ("admin:articles_article_preview", "admin:articles_article_preview_links"):
            assert editor_client.get(reverse(name, args=[object_id])).status_code == 404


def test_previews_list_only_published_related_stories(editor_client, client):
    draft = ArticleFactory(draft=True, title="The draft")
    ArticleFactory(title="Published neighbour")
    ArticleFactory(draft=True, title="Another secret draft")
    ArticleFactory(scheduled=True, title="A scheduled neighbour")
    staff = editor_client.get(reverse("admin:articles_article_preview", args=[draft.pk])).content.decode()
    shared = client.get(public_path(make_link(draft))).content.decode()
    for html in (staff, shared):
        assert "Related stories" in html
        assert "Published neighbour" in html
        assert "Another secret draft" not in html
        assert "A scheduled neighbour" not in html


# --- Creating a link (Editors) ---------------------------------------------------------------------


def test_editor_shares_a_preview_and_an_outsider_opens_it(browser_editor, editor, client):
    draft = ArticleFactory(draft=True, title="Harbour deal draft", summary="Dockers *agree* terms.")
    ArticleSourceFactory(article=draft, title="Original harbour piece")
    BiasRatingFactory(article=draft)
    change = browser_editor.get(reverse("admin:articles_article_change", args=[draft.pk])).content.decode()
    assert f'<a href="{links_page(draft)}" id="share-preview-link">Share a preview</a>' in change

    before = timezone.now()
    response = create_link(browser_editor, draft, expires_in="3d", label="  for the legal desk ")
    assert response.status_code == 302
    assert response["Location"] == links_page(draft)
    link = PreviewLink.objects.get()
    assert (link.article, link.label, link.created_by) == (draft, "for the legal desk", editor)
    assert before + timedelta(days=3) <= link.expires_at <= timezone.now() + timedelta(days=3)
    assert LogEntry.objects.filter(object_id=str(draft.pk), change_message__contains="for the legal desk")

    page = browser_editor.get(response["Location"])
    html = page.content.decode()
    assert "Preview link created. Copy it now" in html
    url = new_link_url(page)
    assert url == f"http://testserver{public_path(link)}"
    assert 'id="copy-preview-link"' in html and "js/preview-links.js" in html
    assert not INLINE_SCRIPT.search(html) and "style=" not in html
    row = re.search(rf'<tr id="preview-link-{link.pk}".*?</tr>', html, re.S).group(0)
    assert "for the legal desk" in row and "editor" in row and "Active" in row and "Revoke" in row
    # Shown once: a later visit lists the link but no longer shows its address.
    again = browser_editor.get(links_page(draft)).content.decode()
    assert 'id="new-preview-link-url"' not in again
    assert link.token not in again

    shared = client.get(url)
    assert shared.status_code == 200
    body = shared.content.decode()
    assert "Harbour deal draft" in body and "<em>agree</em>" in body and "Original harbour piece" in body
    assert "Preview shared by newsapp — not published." in body
    assert '<meta name="robots" content="noindex, nofollow">' in body
    assert "/admin/" not in body
    assert_private_noindex(shared)
    assert "nofollow" in shared["X-Robots-Tag"]
    assert shared["Referrer-Policy"] == "no-referrer"
    assert not shared.cookies
    assert "Set-Cookie" not in shared.headers
    assert not INLINE_SCRIPT.search(body) and "style=" not in body
    # A browser sends no session cookie to the public preview; it still must not create one.
    assert "sessionid" not in client.cookies and "csrftoken" not in client.cookies


def test_a_share_link_works_for_a_scheduled_story_until_it_goes_live(browser_editor, client):
    scheduled = ArticleFactory(scheduled=True, title="Budget embargo")
    assert create_link(browser_editor, scheduled, expires_in="7d").status_code == 302
    link = PreviewLink.objects.get()
    response = client.get(public_path(link))
    assert response.status_code == 200
    assert b"Budget embargo" in response.content
    with freeze_time(scheduled.published_at + timedelta(minutes=1)):
        live = client.get(public_path(link))
        assert live.status_code == 302
        assert live["Location"] == scheduled.get_absolute_url()
        assert "no-store" in live["Cache-Control"]
        assert client.get(live["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"expires_in": "30d"}, "expires_in", "Select a valid choice."),
        ({"expires_in": ""}, "expires_in", "This field is required."),
        ({"label": "x" * 121}, "label", "Ensure this value has at most 120 characters"),
    ],
)
def test_bad_input_is_refused_with_a_field_error(browser_editor, changes, field, message):
    draft = ArticleFactory(draft=True)
    response = create_link(browser_editor, draft, **changes)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not PreviewLink.objects.exists()


def test_a_live_story_offers_no_share_link(browser_editor, editor):
    live = ArticleFactory(title="Already out")
    page = browser_editor.get(links_page(live))
    html = page.content.decode()
    assert 'id="preview-links-live"' in html and "already live" in html
    assert 'id="preview-link-form"' not in html
    # A forged POST gets the same answer as a form error, and nothing is created.
    csrf = browser_editor.cookies["csrftoken"].value
    response = browser_editor.post(
        links_page(live), {"expires_in": "1d", "label": ""}, headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 200
    assert "This story is already live: share its public address instead." in response.content.decode()
    assert not PreviewLink.objects.exists()
    with pytest.raises(ValidationError, match="already live"):
        sharing.preview_link_create(article=live, user=editor, lifetime=timedelta(hours=1))


def test_no_link_lives_longer_than_seven_days(editor):
    draft = ArticleFactory(draft=True)
    for lifetime in (timedelta(days=7, seconds=1), timedelta(0), timedelta(hours=-1)):
        with pytest.raises(ValidationError, match="at most 7 days"):
            sharing.preview_link_create(article=draft, user=editor, lifetime=lifetime)
    assert not PreviewLink.objects.exists()


def test_posting_without_the_csrf_token_is_refused(browser_editor):
    draft = ArticleFactory(draft=True)
    response = browser_editor.post(links_page(draft), {"expires_in": "1d", "label": ""})
    assert response.status_code == 403
    assert not PreviewLink.objects.exists()


# --- Writers -----------------------------------------------------------------------------------------


def test_writers_see_the_links_but_cannot_create_or_revoke_them(browser_writer, editor, writer):
    draft = ArticleFactory(draft=True)
    link = make_link(draft, user=editor, label="for the legal desk")
    change = browser_writer.get(reverse("admin:articles_article_change", args=[draft.pk])).content.decode()
    assert f'<a href="{links_page(draft)}" id="share-preview-link">Preview links</a>' in change
    page = browser_writer.get(links_page(draft))
    assert page.status_code == 200
    html = page.content.decode()
    assert "for the legal desk" in html and 'id="preview-links-read-only"' in html
    assert 'id="preview-link-form"' not in html and "Revoke" not in html
    assert link.token not in html

    csrf = browser_writer.cookies["csrftoken"].value
    created = browser_writer.post(
        links_page(draft), {"expires_in": "1d", "label": "mine"}, headers={"X-CSRFToken": csrf}
    )
    assert created.status_code == 403
    revoke_url = reverse("admin:articles_article_preview_link_revoke", args=[draft.pk, link.pk])
    assert browser_writer.post(revoke_url, headers={"X-CSRFToken": csrf}).status_code == 403
    assert list(PreviewLink.objects.all()) == [link]
    link.refresh_from_db()
    assert link.revoked_at is None
    with pytest.raises(PermissionDenied, match="Only editors"):
        sharing.preview_link_create(article=draft, user=writer, lifetime=timedelta(hours=1))


def test_staff_without_newsroom_rights_see_no_links_page(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="intern", is_staff=True))
    draft = ArticleFactory(draft=True)
    assert client.get(links_page(draft)).status_code == 403
    assert client.get(reverse("admin:articles_article_preview", args=[draft.pk])).status_code == 403


# --- Revoking and expiry ---------------------------------------------------------------------------


def test_a_revoked_link_stops_working_at_once(browser_editor, client, page_cache_on):
    draft = ArticleFactory(draft=True, title="Revocable draft")
    create_link(browser_editor, draft, label="for the lawyers")
    link = PreviewLink.objects.get()
    url = public_path(link)
    assert client.get(url).status_code == 200

    response = revoke_link(browser_editor, draft, link)
    assert response.status_code == 302
    page = browser_editor.get(response["Location"]).content.decode()
    assert "Revoked the preview link “for the lawyers”: it no longer works." in page
    row = re.search(rf'<tr id="preview-link-{link.pk}".*?</tr>', page, re.S).group(0)
    assert "Revoked" in row and "<button" not in row
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert LogEntry.objects.filter(object_id=str(draft.pk), change_message__startswith="Revoked")

    gone = client.get(url)
    assert gone.status_code == 410
    assert b"This preview link no longer works" in gone.content
    assert b"Revocable draft" not in gone.content
    assert_private_noindex(gone)

    # Revoking twice changes nothing and says so.
    revoked_at = link.revoked_at
    csrf = browser_editor.cookies["csrftoken"].value
    revoke_url = reverse("admin:articles_article_preview_link_revoke", args=[draft.pk, link.pk])
    again = browser_editor.post(revoke_url, headers={"X-CSRFToken": csrf}, follow=True)
    assert "had already stopped working" in again.content.decode()
    link.refresh_from_db()
    assert link.revoked_at == revoked_at


def test_revoke_takes_a_post(browser_editor):
    draft = ArticleFactory(draft=True)
    link = make_link(draft)
    revoke_url = reverse("admin:articles_article_preview_link_revoke", args=[draft.pk, link.pk])
    assert browser_editor.get(revoke_url).status_code == 405
    link.refresh_from_db()
    assert link.revoked_at is None


def test_an_expired_link_stops_working(browser_editor, client):
    draft = ArticleFactory(draft=True, title="Short-lived draft")
    create_link(browser_editor, draft, expires_in="1h")
    link = PreviewLink.objects.get()
    url = public_path(link)
    with freeze_time(timezone.now() + timedelta(minutes=59)):
        assert client.get(url).status_code == 200
    with freeze_time(timezone.now() + timedelta(minutes=61)):
        gone = client.get(url)
        assert gone.status_code == 410
        assert b"Short-lived draft" not in gone.content
        row = re.search(
            rf'<tr id="preview-link-{link.pk}".*?</tr>',
            browser_editor.get(links_page(draft)).content.decode(),
            re.S,
        )
        assert "Expired" in row.group(0) and "<button" not in row.group(0)


# --- Tokens ------------------------------------------------------------------------------------------


def test_tampered_malformed_and_unknown_tokens_are_a_plain_404(client, settings):
    # Nine wrong guesses in a row: the limit itself is tests/accounts/test_signin.py's to test.
    settings.AXES_FAILURE_LIMIT = 20
    draft = ArticleFactory(draft=True, title="Guarded draft")
    link = make_link(draft)
    token = link.token
    pk, signature = token.split(".")
    other_id = PreviewLink(pk=link.pk + 1000).token  # genuine signature, no such link
    deleted = make_link(ArticleFactory(draft=True, title="Deleted draft"))
    deleted_token = deleted.token
    deleted.article.delete()
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (
        f"{pk}.{flipped}",  # one character of the signature changed
        f"{link.pk + 1}.{signature}",  # another id with this signature
        signature,
        f"{pk}.",
        f"{pk}:{signature}",
        "x" * 400,
        "%00",
        other_id,
        deleted_token,
    ):
        response = client.get(reverse("articles:shared_preview", kwargs={"token": bad}))
        assert response.status_code == 404, bad
        assert b"We can\xe2\x80\x99t find that preview" in response.content
        assert b"Guarded draft" not in response.content and b"Deleted draft" not in response.content
        assert_private_noindex(response)
    assert client.get(public_path(link)).status_code == 200


def test_a_token_is_tied_to_this_sites_secret(settings, client):
    link = make_link(ArticleFactory(draft=True))
    token = link.token
    settings.SECRET_KEY = "another-secret"
    assert client.get(reverse("articles:shared_preview", kwargs={"token": token})).status_code == 404


def test_a_link_shows_its_own_story_and_no_other(browser_editor, client):
    first = ArticleFactory(draft=True, title="First draft story")
    second = ArticleFactory(draft=True, title="Second draft story")
    create_link(browser_editor, first)
    link = PreviewLink.objects.get()
    html = client.get(public_path(link)).content.decode()
    assert "First draft story" in html and "Second draft story" not in html
    # The revoke address of one story's link does not reach another story's link.
    wrong = reverse("admin:articles_article_preview_link_revoke", args=[second.pk, link.pk])
    csrf = browser_editor.cookies["csrftoken"].value
    assert browser_editor.post(wrong, headers={"X-CSRFToken": csrf}).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None
    assert second.preview_links.count() == 0


def test_the_public_preview_answers_only_reads(client):
    link = make_link(ArticleFactory(draft=True))
    url = public_path(link)
    assert client.head(url).status_code == 200
    assert client.post(url).status_code == 405


# --- Page cache and queries --------------------------------------------------------------------------


def test_the_page_cache_never_stores_a_shared_preview(client, page_cache_on):
    draft = ArticleFactory(draft=True, title="First title")
    link = make_link(draft)
    url = public_path(link)
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200
        assert "X-Page-Cache" not in response
    # An edit of the draft shows through the link at once.
    Article.objects.filter(pk=draft.pk).update(title="Second title")
    assert b"Second title" in client.get(url).content


def test_a_shared_preview_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    def queries_for(article):
        url = public_path(make_link(article))
        client.get(url)  # warm the card cache, as for any page
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = ArticleFactory(draft=True)
    ArticleSourceFactory(article=small)
    big = ArticleFactory(draft=True)
    BiasRatingFactory(article=big)
    for _ in range(6):
        ArticleSourceFactory(article=big)
    ArticleFactory.create_batch(8)
    assert queries_for(small) == queries_for(big)
    url = public_path(make_link(big))
    # The address's recent wrong guesses, the link with its story, sources, related stories (2), sections.
    with django_assert_max_num_queries(6):
        assert client.get(url).status_code == 200


def test_a_link_survives_a_key_rotation_while_the_old_key_is_a_fallback(editor, settings):
    """Operators rotate DJANGO_SECRET_KEY with the old key in DJANGO_SECRET_KEY_FALLBACKS."""
    link = PreviewLink.objects.create(
        article=ArticleFactory(draft=True), created_by=editor, expires_at=timezone.now() + timedelta(days=1)
    )
    token = link.token
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-key-" + "x" * 40
    assert PreviewLink.from_token(token) is None  # the old signature no longer checks out alone
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert PreviewLink.from_token(token) == link
