"""A candidate becomes a draft story through articles' one save path: its pieces as sources (a wire
copy counted once in the bias), its summary with the AI note, a lead picture read with the fetcher
and stored by the upload rules; a second click makes no second story; later pieces are offered."""

import io
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from PIL import Image
from reversion.models import Version

from articles.models import Article, ArticleSource, BiasRating
from articles.newsroom.stories import article_save, bias_rating_refresh
from newsdesk import desk
from newsdesk.models import Candidate, Summary
from tests.factories import image_bytes
from tests.newsdesk import desk_rows
from tests.newsdesk.servers import Reply, serve

pytestmark = pytest.mark.django_db

JPEG = "image/jpeg"


@pytest.fixture
def newsroom():
    return desk_rows.newsroom()


@pytest.fixture
def private_fetch(settings):
    settings.NEWSAPP_FETCH_ALLOW_PRIVATE = True
    settings.NEWSAPP_FETCH_HOST_INTERVAL = 0


def drafted(cand, user):
    problems = []
    article = desk.draft_story(candidate=cand, user=user, on_problem=problems.append)
    return article, problems


def test_a_draft_cites_every_piece_originals_first_with_the_summary_and_the_ai_note(newsroom, writer):
    cand, pieces = newsroom
    summary = desk_rows.summary(cand)
    article, problems = drafted(cand, writer)

    assert (article.status, article.title, article.category.slug) == ("draft", cand.title, "world")
    assert article.slug == "harbour-strike-ends-after-three-weeks"
    assert article.summary == summary.text and article.ai_summary
    cited = list(article.article_sources.values_list("source__domain", "url", "title", "wire_copy"))
    order = ["left", "lean_right", "center", "unrated", "copy"]  # originals by time, then the copy
    assert cited == [(pieces[k].outlet.domain, pieces[k].url, pieces[k].title, k == "copy") for k in order]
    assert list(article.article_sources.values_list("position", flat=True)) == [0, 1, 2, 3, 4]
    assert problems == ["The draft has no picture: none of the pieces offers one."]
    cand.refresh_from_db()
    assert (cand.status, cand.story) == (Candidate.Status.DRAFTED, article)
    assert article.created_by == writer
    (version,) = Version.objects.get_for_object(article)
    assert version.revision.get_comment() == "Drafted from the story desk: 5 pieces from 5 outlets."


def test_the_bias_counts_a_wire_copy_once(newsroom, editor):
    cand, _ = newsroom
    desk_rows.summary(cand)
    article, _ = drafted(cand, editor)

    rating = BiasRating.objects.get(article=article)
    # left, lean right, center and an unrated original; the right outlet's copy of the left piece
    # is left out (counted, it would make it 25 / 25 / 50).
    assert (rating.left, rating.center, rating.right, rating.unrated_sources) == (34, 33, 33, 1)
    assert rating.method == BiasRating.Method.SOURCES


def test_bias_rating_refresh_leaves_wire_copies_out(newsroom, editor):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    article, _ = drafted(cand, editor)
    rows = ArticleSource.objects.filter(article=article)
    rows.update(wire_copy=True)
    rows.filter(url=pieces["copy"].url).update(wire_copy=False)
    bias_rating_refresh(article=article)
    rating = BiasRating.objects.get(article=article)
    assert (rating.left, rating.center, rating.right) == (0, 0, 100)  # the right outlet's row alone
    ArticleSource.objects.filter(article=article).update(wire_copy=True)
    assert bias_rating_refresh(article=article) is None
    assert not BiasRating.objects.filter(article=article).exists()


def test_a_copy_whose_original_is_not_cited_counts_for_itself(editor):
    wire = desk_rows.outlet("wire.example", "center")
    local = desk_rows.outlet("local.example", "right")
    elsewhere = desk_rows.piece(None, wire, 1)  # the original, grouped into another candidate
    cand = desk_rows.candidate()
    desk_rows.piece(cand, local, 2, copy_of=elsewhere)
    desk_rows.summary(cand)
    article, _ = drafted(cand, editor)
    assert list(article.article_sources.values_list("wire_copy", flat=True)) == [False]
    assert article.bias_rating.right == 100


def test_the_newest_summary_is_used_and_one_is_made_when_there_is_none(newsroom, editor):
    cand, _ = newsroom
    article, _ = drafted(cand, editor)
    made = Summary.objects.get(candidate=cand)  # by newsdesk.summaries (extractive: no LLM set)
    assert article.summary == made.text.strip() and article.summary
    assert "Dockers returned to work" in article.summary


def test_a_lead_picture_from_a_piece_goes_through_the_upload_rules(newsroom, editor, private_fetch):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    photo = image_bytes("JPEG", (1200, 600), gps=True)
    with serve({"/lead.jpg": Reply(body=photo, content_type=JPEG)}) as server:
        pieces["center"].image_url = server.url("/lead.jpg")
        pieces["center"].save()
        article, problems = drafted(cand, editor)

    assert problems == []
    assert (article.image_width, article.image_height) == (1200, 600)
    assert article.image_credit == "centre.example"  # readers see "Image from centre.example"
    assert article.image_alt == pieces["center"].title
    assert set(article.renditions) == {"thumb", "480", "960", "1200"}
    with article.image.open("rb") as fh:
        stored = Image.open(io.BytesIO(fh.read()))
    assert stored.format == "JPEG" and not stored.getexif()  # re-encoded: no GPS position kept
    assert not article.publish_problems()  # credited and described: it may go live as it is


def test_the_first_usable_picture_wins(newsroom, editor, private_fetch):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    with serve({"/ok.png": Reply(body=image_bytes("PNG", (800, 400)), content_type="image/png")}) as server:
        pieces["left"].image_url = server.url("/gone.jpg")
        pieces["left"].save()
        pieces["unrated"].image_url = server.url("/ok.png")
        pieces["unrated"].save()
        article, problems = drafted(cand, editor)
    assert article.image and article.image_credit == "localnews.example"
    assert problems == []


@pytest.mark.parametrize(
    ("route", "settings_changes", "said"),
    [
        (Reply(404, b"no"), {}, "HTTP 404"),
        (Reply(body=b"<html>a page</html>", content_type="text/html"), {}, "text/html is not accepted"),
        (Reply(body=b"not a picture at all", content_type=JPEG), {}, "not a picture we can read"),
        (
            Reply(body=image_bytes("JPEG", (400, 300)), content_type=JPEG),
            {"NEWSAPP_MAX_IMAGE_PIXELS": 100_000},
            "the limit is 0 megapixels",
        ),
    ],
    ids=["404", "html", "garbage", "pixel-cap"],
)
def test_a_failing_picture_leaves_the_draft_without_one(
    newsroom, editor, private_fetch, settings, media_files, route, settings_changes, said
):
    for name, value in settings_changes.items():
        setattr(settings, name, value)
    cand, pieces = newsroom
    desk_rows.summary(cand)
    with serve({"/lead.jpg": route}) as server:
        pieces["left"].image_url = server.url("/lead.jpg")
        pieces["left"].save()
        article, problems = drafted(cand, editor)
    assert not article.image and article.image_credit == "" and article.renditions == {}
    assert len(problems) == 1 and problems[0].startswith("The draft has no picture: leftpost.example: ")
    assert said in problems[0]
    assert media_files() == []
    assert article.article_sources.count() == 5  # the rest of the draft is whole


def test_pictures_are_tried_within_a_time_budget(newsroom, editor, private_fetch, monkeypatch):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    monkeypatch.setattr(desk, "PICTURE_SECONDS", 0)  # spent by the first try
    with serve({"/ok.jpg": Reply(body=image_bytes(), content_type=JPEG)}) as server:
        pieces["left"].image_url = server.url("/gone.jpg")
        pieces["left"].save()
        pieces["center"].image_url = server.url("/ok.jpg")
        pieces["center"].save()
        article, problems = drafted(cand, editor)
        assert [seen.path for seen in server.requests] == ["/gone.jpg"]
    assert not article.image
    assert problems[0].endswith(
        "HTTP 404 from " + pieces["left"].image_url + "; no more pictures tried after 0 seconds"
    )


def test_a_private_address_is_refused_unless_allowed(newsroom, editor):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    with serve({"/lead.jpg": Reply(body=image_bytes(), content_type=JPEG)}) as server:
        pieces["left"].image_url = server.url("/lead.jpg")
        pieces["left"].save()
        article, problems = drafted(cand, editor)
        assert server.requests == []
    assert not article.image and "leftpost.example" in problems[0]


def test_a_second_click_links_to_the_story_made_by_the_first(newsroom, writer, private_fetch):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    with serve({"/lead.jpg": Reply(body=image_bytes("JPEG", (640, 320)), content_type=JPEG)}) as server:
        pieces["left"].image_url = server.url("/lead.jpg")
        pieces["left"].save()
        first, _ = drafted(cand, writer)
        second, problems = drafted(Candidate.objects.get(pk=cand.pk), writer)
        assert len(server.requests) == 1  # the second click fetched nothing
    assert second.pk == first.pk and problems == []
    assert Article.objects.count() == 1
    assert Version.objects.get_for_object(first).count() == 1


def test_a_story_removed_since_lets_the_candidate_be_drafted_again(newsroom, editor):
    cand, _ = newsroom
    desk_rows.summary(cand)
    first, _ = drafted(cand, editor)
    first.delete()
    second, _ = drafted(cand, editor)
    assert second.pk != first.pk and Article.objects.get().pk == second.pk


def test_the_slug_is_unique(newsroom, editor):
    cand, _ = newsroom
    desk_rows.summary(cand)
    other = desk_rows.candidate(cand.title)
    desk_rows.piece(other, cand.pieces.first().outlet, 9)
    desk_rows.summary(other)
    assert drafted(cand, editor)[0].slug == "harbour-strike-ends-after-three-weeks"
    assert drafted(other, editor)[0].slug == "harbour-strike-ends-after-three-weeks-2"


def test_a_section_is_required_and_nothing_is_written_without_one(editor, private_fetch):
    cand = desk_rows.candidate(section=None)
    source = desk_rows.outlet("a.example", "left")
    with serve({"/lead.jpg": Reply(body=image_bytes(), content_type=JPEG)}) as server:
        desk_rows.piece(cand, source, 1, image_url=server.url("/lead.jpg"))
        with pytest.raises(ValidationError) as caught:
            desk.draft_story(candidate=cand, user=editor)
        assert server.requests == []
    assert caught.value.message_dict == {"section": ["Choose the story's section first."]}
    assert not Article.objects.exists() and Candidate.objects.get().status == Candidate.Status.OPEN


def test_a_candidate_without_pieces_is_refused(editor):
    with pytest.raises(ValidationError, match="no pieces"):
        desk.draft_story(candidate=desk_rows.candidate(), user=editor)


def test_someone_who_may_not_create_stories_is_refused(newsroom, django_user_model):
    cand, _ = newsroom
    reader = django_user_model.objects.create_user("reader", is_staff=True)
    with pytest.raises(PermissionDenied):
        desk.draft_story(candidate=cand, user=reader)
    assert not Article.objects.exists()


def test_later_pieces_are_offered_and_added_as_sources(newsroom, writer):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    article, _ = drafted(cand, writer)
    assert list(desk.pieces_offered(cand)) == []

    newcomer = desk_rows.piece(cand, pieces["center"].outlet, 7, title="Port reopens fully")
    copy = desk_rows.piece(cand, pieces["lean_right"].outlet, 8, copy_of=pieces["center"])
    cand.refresh_from_db()
    assert {p.pk for p in desk.pieces_offered(cand)} == {newcomer.pk, copy.pk}

    desk.sources_add(candidate=cand, pieces=[newcomer, copy], user=writer)
    rows = list(article.article_sources.values_list("url", "position", "wire_copy"))
    assert rows[-2:] == [(newcomer.url, 5, False), (copy.url, 6, True)]
    assert list(desk.pieces_offered(cand)) == []
    rating = BiasRating.objects.get(article=article)
    # The center outlet's second piece is no second voice (one voice per outlet); the copy none.
    assert (rating.left, rating.center, rating.right) == (34, 33, 33)
    assert Version.objects.get_for_object(article).count() == 2


def test_only_offered_pieces_can_be_added(newsroom, editor):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    drafted(cand, editor)
    stranger = desk_rows.piece(desk_rows.candidate("Another event"), pieces["left"].outlet, 9)
    with pytest.raises(ValidationError, match="not offered"):
        desk.sources_add(candidate=cand, pieces=[pieces["left"]], user=editor)  # cited already
    with pytest.raises(ValidationError, match="not offered"):
        desk.sources_add(candidate=cand, pieces=[stranger], user=editor)
    with pytest.raises(ValidationError, match="make a draft first"):
        desk.sources_add(candidate=stranger.candidate, pieces=[stranger], user=editor)


def test_adding_to_a_live_story_needs_an_editor(newsroom, writer, editor):
    cand, pieces = newsroom
    desk_rows.summary(cand)
    article, _ = drafted(cand, writer)
    article.status = Article.Status.PUBLISHED
    article_save(article=article, user=editor, comment="Published.")
    newcomer = desk_rows.piece(cand, pieces["left"].outlet, 7)

    with pytest.raises(PermissionDenied):
        desk.sources_add(candidate=cand, pieces=[newcomer], user=writer)
    assert article.article_sources.count() == 5

    before = timezone.now()
    desk.sources_add(candidate=cand, pieces=[newcomer], user=editor)
    article.refresh_from_db()
    assert article.article_sources.count() == 6
    assert article.modified_at >= before  # readers see the live story "Updated"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_clicks_at_once_make_one_story(monkeypatch, django_user_model):
    from django.contrib.auth.models import Group
    from django.db import connection

    editor = django_user_model.objects.create_user("racer", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    cand, _ = desk_rows.newsroom()
    desk_rows.summary(cand)
    both_past_the_first_look = threading.Barrier(2, timeout=10)

    def no_picture(pieces):
        both_past_the_first_look.wait()  # each has seen no story yet
        return None, None, ""

    monkeypatch.setattr(desk, "_lead_picture", no_picture)
    made, failures = [], []

    def click():
        try:
            made.append(desk.draft_story(candidate=cand, user=editor).pk)
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(20)
    assert failures == [] and len(made) == 2
    assert made[0] == made[1] and Article.objects.count() == 1
    assert Candidate.objects.get().story_id == made[0]
