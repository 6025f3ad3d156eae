"""The newsroom as editors and writers use it: admin forms fetched, filled in, posted as a browser would."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, ArticleSource, BiasRating, Category, Source
from articles.newsroom import stories
from tests.factories import (
    RATED_SINCE,
    ArticleFactory,
    ArticleSourceFactory,
    BiasRatingFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

ADD = reverse("admin:articles_article_add")
CHANGELIST = reverse("admin:articles_article_changelist")


class _FormFields(HTMLParser):
    """The name/value pairs a browser would submit from the form with the given id."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self.textareas = set()
        self._select = self._first_option = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        name = a.get("name")
        if not self.inside:
            return
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "file", "button", "reset") or (
                kind in ("checkbox", "radio") and "checked" not in a
            ):
                return
            self.fields[name] = a.get("value") or ("on" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.textareas.add(name)
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if self._select not in self.fields and self._first_option is not None:
                self.fields[self._select] = self._first_option
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields[self._textarea] = self.fields[self._textarea].removeprefix("\n")
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def browser_post(client, url, form_id="article_form", **changes):
    """GET the form, keep what the browser would send, apply `changes` (None removes a field), POST."""
    response = client.get(url)
    assert response.status_code == 200
    parser = _FormFields(form_id)
    parser.feed(response.content.decode())
    assert parser.fields, f"no form #{form_id} on {url}"
    data = {k: v for k, v in parser.fields.items() if "__prefix__" not in k}
    for name, value in changes.items():
        name = name.replace("__", "-")
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    for name in parser.textareas & data.keys():
        # Browsers send a textarea's line breaks as CRLF (HTML's form submission rules).
        data[name] = data[name].replace("\r\n", "\n").replace("\n", "\r\n")
    return client.post(url, data)


def citations(*outlets):
    """Inline rows for article_sources, as if "Add another source" was clicked per outlet."""
    rows = {"article_sources__TOTAL_FORMS": str(len(outlets))}
    for i, outlet in enumerate(outlets):
        rows |= {
            f"article_sources__{i}__source": str(outlet.pk),
            f"article_sources__{i}__url": f"https://{outlet.domain}/story-{i}",
            f"article_sources__{i}__title": f"Headline {i}",
            f"article_sources__{i}__position": str(i),
        }
    return rows


def rating(method="editorial", left="", center="", right=""):
    return {
        "bias_rating__TOTAL_FORMS": "1",
        "bias_rating__0__method": method,
        "bias_rating__0__left": str(left),
        "bias_rating__0__center": str(center),
        "bias_rating__0__right": str(right),
    }


def story(**extra):
    world = Category.objects.get(slug="world")
    return {
        "title": "Talks resume",
        "slug": "talks-resume",
        "category": str(world.pk),
        "summary": "One.\n\nTwo.",
    } | extra


# --- The list of stories ---------------------------------------------------------------------------


def test_changelist_shows_the_newsroom_columns_and_facets(editor_client):
    live = ArticleFactory(title="Alpha live", with_image=True)
    BiasRatingFactory(article=live, left=15, center=80, right=5)
    ArticleSourceFactory.create_batch(2, article=live)
    ArticleFactory(title="Beta draft", draft=True)
    ArticleFactory(title="Gamma scheduled", scheduled=True)
    html = editor_client.get(CHANGELIST).content.decode()
    for column in ("thumbnail", "category", "state", "publish_time", "bias_summary", "source_count"):
        assert f"column-{column}" in html, column
    for heading in ("Section", "Status", "Publish time", "Bias (L/C/R)", "Sources"):
        assert f">{heading}<" in html, heading
    assert live.renditions["thumb"]["jpg"] in html
    assert 'class="badge badge-live">Published<' in html
    assert 'class="badge badge-draft">Draft<' in html
    assert 'class="badge badge-scheduled">Scheduled<' in html
    assert "15 / 80 / 5" in html
    assert '<td class="field-source_count">2</td>' in html
    for facet in ("Draft (1)", "Scheduled (1)", "Published (live) (1)", "World (3)", "Set by an editor (1)"):
        assert facet in html, facet


def test_changelist_filters_by_state(editor_client):
    ArticleFactory(title="Alpha live")
    ArticleFactory(title="Gamma scheduled", scheduled=True)
    html = editor_client.get(CHANGELIST, {"state": "scheduled"}).content.decode()
    assert "Gamma scheduled" in html
    assert "Alpha live" not in html


def test_changelist_search(editor_client):
    ArticleFactory(title="Harbour strike ends")
    ArticleFactory(title="Election called", summary="Voters go to the polls.")
    html = editor_client.get(CHANGELIST, {"q": "harbour"}).content.decode()
    assert "Harbour strike ends" in html
    assert "Election called" not in html
    assert "Election called" in editor_client.get(CHANGELIST, {"q": "polls"}).content.decode()


# --- Writing and publishing ------------------------------------------------------------------------


def test_editor_creates_and_publishes_a_story_with_image_sources_and_rating(
    editor_client, editor, make_image, client
):
    bbc, fox = (
        SourceFactory(domain="bbc.co.uk", bias="center"),
        SourceFactory(domain="fox.example", bias="right"),
    )
    upload = SimpleUploadedFile(
        "lead.jpg", make_image("JPEG", (1200, 600), gps=True), content_type="image/jpeg"
    )
    response = browser_post(
        editor_client,
        ADD,
        **story(image=upload, image_alt="Delegates at a table", image_credit="bbc.co.uk", status="published"),
        **citations(bbc, fox),
        **rating(left=15, center=80, right=5),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get(slug="talks-resume")
    assert article.status == "published"
    assert article.is_published()
    assert article.created_by == editor
    assert (article.image_width, article.image_height) == (1200, 600)
    assert set(article.renditions) == {"thumb", "480", "960", "1200"}
    assert list(article.article_sources.values_list("source__domain", flat=True)) == [
        "bbc.co.uk",
        "fox.example",
    ]
    rated = article.bias_rating
    assert (rated.left, rated.center, rated.right, rated.method) == (15, 80, 5, "editorial")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Talks resume" in html
    assert "L 15%" in html
    assert "Image from bbc.co.uk" in html


def test_a_rating_that_does_not_add_up_is_refused_and_nothing_is_saved(
    editor_client, media_files, make_image
):
    upload = SimpleUploadedFile("lead.jpg", make_image("JPEG", (100, 50)), content_type="image/jpeg")
    response = browser_post(
        editor_client,
        ADD,
        **story(image=upload, image_alt="A picture"),
        **citations(SourceFactory()),
        **rating(left=10, center=70, right=10),
    )
    assert response.status_code == 200
    assert "Left, center and right must add up to 100%; they add up to 90%." in response.content.decode()
    assert not Article.objects.exists()
    assert not ArticleSource.objects.exists()
    assert not BiasRating.objects.exists()
    assert media_files() == []


def test_method_sources_computes_the_rating_from_the_outlets(editor_client):
    outlets = [SourceFactory(bias=lean) for lean in ("lean_left", "center", "right", "unrated")]
    response = browser_post(editor_client, ADD, **story(), **citations(*outlets), **rating(method="sources"))
    assert response.status_code == 302
    rated = BiasRating.objects.get(article__slug="talks-resume")
    assert (rated.left, rated.center, rated.right) == (34, 33, 33)
    assert (rated.method, rated.unrated_sources) == ("sources", 1)


@pytest.mark.parametrize(
    "inline", [{"bias_rating__TOTAL_FORMS": "0"}, rating()], ids=["no-inline-row", "blank-inline-row"]
)
def test_leaving_the_rating_empty_computes_it_from_the_sources(editor_client, inline):
    outlets = [SourceFactory(bias="left"), SourceFactory(bias="lean_right")]
    response = browser_post(editor_client, ADD, **story(), **citations(*outlets), **inline)
    assert response.status_code == 302
    rated = BiasRating.objects.get(article__slug="talks-resume")
    assert (rated.left, rated.center, rated.right, rated.method) == (50, 0, 50, "sources")


def rating_rows(html: str) -> str:
    """The bias rating inline's rows, without the template the admin's script copies for a new row."""
    group = html[html.index('id="bias_rating-group"') :]
    return group[: group.index('id="bias_rating-empty"')]


def test_the_bias_rating_fields_show_at_once_one_per_story(editor_client):
    rows = rating_rows(editor_client.get(ADD).content.decode())
    for name in ("method", "left", "center", "right"):
        assert f'name="bias_rating-0-{name}"' in rows, name
    # One row and room for no other, so the admin's script offers no "Add another Bias rating".
    assert 'name="bias_rating-TOTAL_FORMS" value="1"' in rows
    assert 'name="bias_rating-MAX_NUM_FORMS" value="1"' in rows
    assert "Leave left, center and right empty to have the rating computed" in rows

    rated = BiasRatingFactory(left=15, center=80, right=5)
    rows = rating_rows(
        editor_client.get(reverse("admin:articles_article_change", args=[rated.pk])).content.decode()
    )
    assert 'name="bias_rating-TOTAL_FORMS" value="1"' in rows
    assert 'name="bias_rating-INITIAL_FORMS" value="1"' in rows
    assert 'name="bias_rating-0-left" value="15"' in rows


def test_emptying_an_editors_rating_computes_it_from_the_sources(editor_client):
    article = ArticleFactory(draft=True)
    for lean in ("left", "lean_right"):
        ArticleSourceFactory(article=article, source=SourceFactory(bias=lean))
    BiasRatingFactory(article=article, left=15, center=80, right=5)
    response = browser_post(
        editor_client,
        reverse("admin:articles_article_change", args=[article.pk]),
        bias_rating__0__left="",
        bias_rating__0__center="",
        bias_rating__0__right="",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rated = BiasRating.objects.get(article=article)
    assert (rated.left, rated.center, rated.right, rated.method) == (50, 0, 50, "sources")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.jpg", b"this is not a picture at all", "The file is not a picture we can read"),
        ("animation.gif", "GIF", "GIF images are not accepted"),
        ("empty.jpg", b"", "The submitted file is empty"),
    ],
    ids=["text-as-jpg", "gif", "empty"],
)
def test_an_upload_that_is_not_an_accepted_picture_is_refused(
    editor_client, media_files, make_image, name, content, message
):
    data = make_image(content) if isinstance(content, str) else content
    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
    response = browser_post(editor_client, ADD, **story(image=upload, image_alt="A picture"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="errorlist' in html
    assert message in html
    assert not Article.objects.exists()
    assert media_files() == []


def test_editor_schedules_a_story(editor_client, client):
    response = browser_post(
        editor_client,
        ADD,
        **story(status="published", published_at_0="2099-01-01", published_at_1="09:00:00"),
    )
    assert response.status_code == 302
    article = Article.objects.get(slug="talks-resume")
    assert article.is_scheduled()
    assert article.published_at.isoformat() == "2099-01-01T09:00:00+00:00"  # London is on GMT in January
    assert client.get(article.get_absolute_url()).status_code == 404
    assert "Scheduled (1)" in editor_client.get(CHANGELIST).content.decode()


# --- Writers draft, Editors publish ---------------------------------------------------------------


def test_writer_creates_a_draft_and_a_forged_publish_still_saves_a_draft(writer_client, writer, client):
    form = writer_client.get(ADD).content.decode()
    assert 'name="status"' not in form  # shown read-only, not as a field
    response = browser_post(writer_client, ADD, **story(), status="published", **citations(SourceFactory()))
    assert response.status_code == 302
    article = Article.objects.get(slug="talks-resume")
    assert article.status == "draft"
    assert article.created_by == writer
    assert client.get(article.get_absolute_url()).status_code == 404


def test_writer_edits_a_draft_but_cannot_publish_it(writer_client):
    draft = ArticleFactory(draft=True, title="Old title")
    url = reverse("admin:articles_article_change", args=[draft.pk])
    response = browser_post(writer_client, url, title="New title", status="published")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.title, draft.status) == ("New title", "draft")


def test_writer_bulk_publish_is_refused(writer_client):
    drafts = ArticleFactory.create_batch(2, draft=True)
    assert "publish_selected" not in writer_client.get(CHANGELIST).content.decode()
    writer_client.post(
        CHANGELIST, {"action": "publish_selected", "_selected_action": [a.pk for a in drafts], "index": "0"}
    )
    assert set(Article.objects.values_list("status", flat=True)) == {"draft"}


@pytest.mark.parametrize("traits", [{}, {"scheduled": True}], ids=["published", "scheduled"])
def test_writer_cannot_change_a_published_story(writer_client, traits):
    article = ArticleFactory(title="Live title", **traits)
    url = reverse("admin:articles_article_change", args=[article.pk])
    page = writer_client.get(url)
    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode()  # read-only view
    response = writer_client.post(url, {"title": "Changed", "status": "draft"})
    assert response.status_code == 403
    article.refresh_from_db()
    assert (article.title, article.status) == ("Live title", "published")
    delete = reverse("admin:articles_article_delete", args=[article.pk])
    assert writer_client.post(delete, {"post": "yes"}).status_code == 403
    assert Article.objects.filter(pk=article.pk).exists()


def test_editor_bulk_publish_and_unpublish(editor_client, editor, client):
    drafts = ArticleFactory.create_batch(2, draft=True)
    pks = [a.pk for a in drafts]
    response = editor_client.post(
        CHANGELIST, {"action": "publish_selected", "_selected_action": pks, "index": "0"}
    )
    assert response.status_code == 302
    assert "Published 2 stories." in editor_client.get(CHANGELIST).content.decode()
    for article in Article.objects.filter(pk__in=pks):
        assert article.is_published()
        assert article.updated_by == editor
        assert client.get(article.get_absolute_url()).status_code == 200
    editor_client.post(
        CHANGELIST, {"action": "unpublish_selected", "_selected_action": pks[:1], "index": "0"}
    )
    assert list(Article.objects.published().values_list("pk", flat=True)) == pks[1:]
    assert client.get(drafts[0].get_absolute_url()).status_code == 404


# --- Preview ---------------------------------------------------------------------------------------


def test_staff_preview_a_draft_never_cached(editor_client, writer_client, client):
    draft = ArticleFactory(draft=True, title="Not yet public")
    url = reverse("admin:articles_article_preview", args=[draft.pk])
    for staff in (editor_client, writer_client):
        response = staff.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Not yet public" in html
        assert 'class="preview-banner"' in html
        assert "This is a draft: readers cannot see it." in html
        assert '<meta name="robots" content="noindex, nofollow">' in html
        cache_control = response["Cache-Control"]
        assert "no-store" in cache_control
        assert "private" in cache_control
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_staff_without_newsroom_rights_cannot_preview(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="intern", is_staff=True))
    draft = ArticleFactory(draft=True, title="Not yet public")
    response = client.get(reverse("admin:articles_article_preview", args=[draft.pk]))
    assert response.status_code == 403
    assert b"Not yet public" not in response.content


# --- Outlets ---------------------------------------------------------------------------------------


def test_a_new_rating_recomputes_stories_not_yet_live_and_leaves_published_ones(editor_client):
    """An outlet's lean changes by a dated rating (its "current lean" is read-only): drafts are
    recomputed, a published story keeps its balance (the editor is told), editorial numbers stay."""
    outlet, other = SourceFactory(bias="center"), SourceFactory(bias="left")
    live, draft = ArticleFactory(), ArticleFactory(draft=True)
    for story in (live, draft):
        ArticleSourceFactory(article=story, source=outlet)
        ArticleSourceFactory(article=story, source=other)
        stories.bias_rating_refresh(article=story)
    editorial = BiasRatingFactory(left=15, center=80, right=5)
    ArticleSourceFactory(article=editorial.article, source=outlet)
    url = reverse("admin:articles_source_change", args=[outlet.pk])
    day = timezone.localdate() - timedelta(days=1)  # backdated: the live story is dated after it
    new_rating = {
        "ratings__TOTAL_FORMS": "2",
        "ratings__1__lean": "right",
        "ratings__1__rater_kind": "newsroom",
    }
    new_rating |= {"ratings__1__effective_from": f"{day:%Y-%m-%d}", "ratings__1__method": "Review"}
    new_rating |= {"ratings__1__confidence": "high", "bias": "left"}  # a posted "bias" is ignored
    response = browser_post(editor_client, url, form_id="source_form", **new_rating)
    assert response.status_code == 302
    assert Source.objects.get(pk=outlet.pk).bias == "right"
    assert [(r.lean, r.effective_from) for r in outlet.ratings.order_by("effective_from")] == [
        ("center", RATED_SINCE),
        ("right", day),
    ]
    assert BiasRating.objects.values_list("left", "center", "right").get(article=live) == (50, 50, 0)
    assert BiasRating.objects.values_list("left", "center", "right").get(article=draft) == (50, 0, 50)
    editorial.refresh_from_db()
    assert (editorial.left, editorial.center, editorial.right, editorial.method) == (15, 80, 5, "editorial")
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("1 published story citing" in m and "keep their balance" in m for m in shown), shown


def test_saving_a_live_story_unchanged_changes_nothing(editor_client):
    """Browsers send textarea line breaks as CRLF: that alone is no change of the summary."""
    live = ArticleFactory(summary="First paragraph.\n\nSecond paragraph.")
    stamp = live.updated_at
    response = browser_post(editor_client, reverse("admin:articles_article_change", args=[live.pk]))
    assert response.status_code == 302
    live.refresh_from_db()
    assert live.summary == "First paragraph.\n\nSecond paragraph."
    assert live.modified_at is None  # readers are not told it was "Updated"
    assert LogEntry.objects.latest("action_time").get_change_message() == "No fields changed."
    assert live.updated_at >= stamp


def test_numbers_typed_while_computed_is_chosen_are_refused_not_dropped(editor_client):
    outlets = [SourceFactory(bias="left"), SourceFactory(bias="lean_right")]
    response = browser_post(
        editor_client,
        ADD,
        **story(),
        **citations(*outlets),
        **rating(method="sources", left=10, center=20, right=70),
    )
    assert response.status_code == 200
    assert "You typed percentages but chose a bar computed from the sources" in response.content.decode()
    assert not Article.objects.filter(slug="talks-resume").exists()
    # Saved again unchanged, a computed rating's own numbers are no typing.
    response = browser_post(editor_client, ADD, **story(), **citations(*outlets), **rating(method="sources"))
    assert response.status_code == 302
    change = reverse("admin:articles_article_change", args=[Article.objects.get(slug="talks-resume").pk])
    assert browser_post(editor_client, change).status_code == 302
