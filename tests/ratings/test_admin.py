"""Ratings in the admin: the outlet's history (Editors write, Writers read), the list, the stories'
recompute action (Editors only, a revision each), and the import page."""

from datetime import date, datetime

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from articles.models import BiasRating, Source, SourceRating
from articles.newsroom import ratings, stories
from tests.admin.test_admin import browser_post
from tests.factories import ArticleFactory, ArticleSourceFactory, BiasRatingFactory, SourceFactory

pytestmark = pytest.mark.django_db

CHANGE = date(2024, 3, 1)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def story():
    """A story published before CHANGE, when its outlet was center; the outlet is left from CHANGE,
    added after the story was published (a backdated rating)."""
    outlet, right = SourceFactory(bias="center"), SourceFactory(bias="right")
    moment = timezone.make_aware(datetime(2024, 5, 2, 12, 0))
    article = ArticleFactory(published_at=moment, title="Harbour vote")
    for source in (outlet, right):
        ArticleSourceFactory(article=article, source=source)
    stories.bias_rating_refresh(article=article)
    rating = SourceRating(source=outlet, lean="left", effective_from=CHANGE, method="Review")
    ratings.source_rating_save(rating=rating, user=None)
    return article


def changelist_action(client, action, articles):
    return client.post(
        reverse("admin:articles_article_changelist"),
        {"action": action, "_selected_action": [a.pk for a in articles]},
    )


def test_the_recompute_action_applies_the_dated_ratings_and_records_a_revision(editor_client, story):
    assert BiasRating.objects.values_list("left", "center", "right").get(article=story) == (0, 50, 50)
    editorial = BiasRatingFactory(left=30, center=30, right=40).article
    response = changelist_action(editor_client, "recompute_balance", [story, editorial])
    assert response.status_code == 302
    assert BiasRating.objects.values_list("left", "center", "right").get(article=story) == (50, 0, 50)
    comment = Version.objects.get_for_object(story).first().revision.comment
    assert comment == "Balance recomputed with the outlet ratings in force on 2024-05-02 (the story's date)."
    shown = messages_of(response)
    assert any(m.startswith("Recomputed the balance of 1 story") for m in shown), shown
    assert any("Left 1 story alone" in m and f"“{editorial.title}”" in m for m in shown), shown
    assert BiasRating.objects.values_list("left", "center", "right").get(article=editorial) == (30, 30, 40)
    story.refresh_from_db()
    assert story.modified_at is None  # no "Updated" for readers: the story's content did not change


def test_a_writer_has_no_recompute_action(writer_client, story):
    page = writer_client.get(reverse("admin:articles_article_changelist"))
    assert b"recompute_balance" not in page.content
    changelist_action(writer_client, "recompute_balance", [story])
    assert BiasRating.objects.values_list("left", "center", "right").get(article=story) == (0, 50, 50)
    assert not Version.objects.get_for_object(story).exists()


def test_a_writer_reads_the_history_and_cannot_add_a_rating(writer_client, story):
    outlet = story.article_sources.first().source
    page = writer_client.get(reverse("admin:articles_source_change", args=[outlet.pk]))
    assert page.status_code == 200
    assert b"Rating history" in page.content or b"rating history" in page.content
    assert b'name="ratings-0-lean"' not in page.content  # read-only: no fields to change
    assert b"Review" in page.content  # the rating's method, shown
    assert writer_client.get(reverse("admin:articles_sourcerating_add")).status_code == 403
    assert writer_client.get(reverse("admin:articles_sourcerating_import")).status_code == 403
    response = writer_client.post(
        reverse("admin:articles_sourcerating_add"),
        {"source": outlet.pk, "lean": "right", "effective_from": "2024-01-01", "rater_kind": "newsroom",
         "method": "Mine", "confidence": "low"},
    )  # fmt: skip
    assert response.status_code == 403
    assert outlet.ratings.count() == 2
    assert writer_client.get(reverse("admin:articles_sourcerating_changelist")).status_code == 200


def test_an_editor_adds_a_backdated_rating_and_is_told_what_it_leaves(editor_client, story):
    outlet = story.article_sources.first().source
    response = editor_client.post(
        reverse("admin:articles_sourcerating_add"),
        {"source": outlet.pk, "lean": "right", "effective_from": "2024-04-01", "rater_kind": "external",
         "rater_name": "Press Panel", "method": "Survey", "confidence": "low"},
    )  # fmt: skip
    assert response.status_code == 302
    assert Source.objects.get(pk=outlet.pk).bias == "right"
    assert BiasRating.objects.values_list("left", "center", "right").get(article=story) == (0, 50, 50)
    shown = messages_of(response)
    assert any("1 published story citing" in m and "01 Apr 2024" in m for m in shown), shown


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"effective_from": "2099-01-01"}, "cannot take effect in the future"),
        ({"rater_kind": "external", "rater_name": ""}, "Name the external rater"),
        ({"effective_from": "2024-03-01"}, "already exists"),
    ],
)
def test_the_admin_form_refuses_a_bad_rating(editor_client, story, values, error):
    outlet = story.article_sources.first().source
    data = {"source": outlet.pk, "lean": "right", "effective_from": "2024-01-01", "rater_kind": "newsroom",
            "method": "Survey", "confidence": "low"} | values  # fmt: skip
    response = editor_client.post(reverse("admin:articles_sourcerating_add"), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert outlet.ratings.count() == 2


def test_the_outlet_form_shows_the_current_lean_read_only(editor_client, story):
    outlet = story.article_sources.first().source
    page = editor_client.get(reverse("admin:articles_source_change", args=[outlet.pk])).content.decode()
    assert 'name="bias"' not in page
    assert 'name="country"' in page
    assert 'name="ratings-0-lean"' in page


def test_the_list_exports_and_the_editor_imports(editor_client, story):
    response = editor_client.get(reverse("admin:articles_sourcerating_export", args=["csv"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    body = response.content
    assert body.startswith(b"domain,lean,effective_from,rater_kind,rater_name,method,confidence,note,link\n")
    assert editor_client.get(reverse("admin:articles_sourcerating_export", args=["xml"])).status_code == 404
    changed = body.replace(b",left,2024-03-01,newsroom,,Review,", b",left,2024-03-01,newsroom,,Reviewed,")
    bad = changed + b"nowhere.example,left,2024-01-01,newsroom,,X,medium,,\n"
    url = reverse("admin:articles_sourcerating_import")
    response = editor_client.post(url, {"file": SimpleUploadedFile("r.csv", bad)})
    assert response.status_code == 200
    assert "no outlet with domain &#x27;nowhere.example&#x27;" in response.content.decode()
    assert not SourceRating.objects.filter(method="Reviewed").exists()
    response = editor_client.post(url, {"file": SimpleUploadedFile("r.csv", changed), "dry_run": "on"})
    assert "Dry run, nothing saved" in response.content.decode()
    assert not SourceRating.objects.filter(method="Reviewed").exists()
    response = editor_client.post(url, {"file": SimpleUploadedFile("r.csv", changed)})
    assert response.status_code == 302
    assert SourceRating.objects.filter(method="Reviewed").count() == 1
    assert any("1 updated" in m for m in messages_of(response))


def test_deleting_a_rating_in_the_inline_follows_through(editor_client, story):
    outlet = story.article_sources.first().source
    draft = ArticleFactory(draft=True)
    ArticleSourceFactory(article=draft, source=outlet)
    stories.bias_rating_refresh(article=draft)
    assert BiasRating.objects.get(article=draft).left == 100
    newest = outlet.ratings.order_by("-effective_from").first()
    index = list(outlet.ratings.order_by("-effective_from")).index(newest)
    response = browser_post(
        editor_client,
        reverse("admin:articles_source_change", args=[outlet.pk]),
        form_id="source_form",
        **{f"ratings__{index}__DELETE": "on"},
    )
    assert response.status_code == 302
    assert Source.objects.get(pk=outlet.pk).bias == "center"
    assert BiasRating.objects.get(article=draft).center == 100


@pytest.mark.parametrize("outlet", ["abc", "1 OR 1=1", "1.5", "²", "99999", ""])
def test_an_outlet_that_is_no_outlet_is_a_field_error(editor_client, story, outlet):
    """The outlet is picked in an autocomplete widget, which looks the posted value up to show it
    again beside the errors: a value no id could be raised there (a 500)."""
    rating = SourceRating.objects.get(effective_from=CHANGE)
    data = {"source": outlet, "lean": "right", "effective_from": "2024-04-01", "rater_kind": "newsroom",
            "method": "Survey", "confidence": "low"}  # fmt: skip
    response = editor_client.post(reverse("admin:articles_sourcerating_change", args=[rating.pk]), data)
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["source"]
    rating.refresh_from_db()
    assert (rating.lean, rating.effective_from, rating.method) == ("left", CHANGE, "Review")


def test_the_chosen_outlet_is_shown_again_beside_another_field_s_error(editor_client, story):
    outlet = story.article_sources.first().source
    data = {"source": outlet.pk, "lean": "right", "effective_from": "2099-01-01", "rater_kind": "newsroom",
            "method": "Survey", "confidence": "low"}  # fmt: skip
    response = editor_client.post(reverse("admin:articles_sourcerating_add"), data)
    assert list(response.context["adminform"].form.errors) == ["effective_from"]
    assert f'<option value="{outlet.pk}" selected>{outlet.name}</option>' in response.content.decode()
