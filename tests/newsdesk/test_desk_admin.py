"""The story desk as Writers and Editors use it: the list in desk order, a candidate's page with its
pieces by lean, the buttons posted as a browser would (make a draft, dismiss, split, add sources),
the merge action, the feeds and pieces admin, and who may do what."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from articles.models import Article, Category
from newsdesk import tasks
from newsdesk.models import Candidate, Feed, Piece
from newsdesk.queued import waiting_calls
from tests.conftest import signed_in_client
from tests.newsdesk import desk_rows

pytestmark = pytest.mark.django_db

DESK = reverse("admin:newsdesk_candidate_changelist")
PIECES = reverse("admin:newsdesk_piece_changelist")
FEEDS = reverse("admin:newsdesk_feed_changelist")


def page(cand) -> str:
    return reverse("admin:newsdesk_candidate_change", args=[cand.pk])


def button(cand, name) -> str:
    return reverse(f"admin:newsdesk_candidate_{name}", args=[cand.pk])


def said(response) -> list[str]:
    """The messages waiting after `response` (those of earlier redirects not shown yet included)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


class _Columns(HTMLParser):
    """Headlines of the desk page, by the column (lean) they are shown in."""

    def __init__(self):
        super().__init__()
        self.columns: dict[str, list[str]] = {}
        self.headings: list[str] = []
        self._side = self._field = None

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        side = next((c.removeprefix("desk-column-") for c in classes if c.startswith("desk-column-")), None)
        if tag == "section" and side:
            self._side = side
            self.columns[side] = []
        elif (tag == "p" and "desk-headline" in classes and self._side) or tag in ("h1", "h2", "h3"):
            self._field = ""

    def handle_data(self, data):
        if self._field is not None:
            self._field += data

    def handle_endtag(self, tag):
        if tag == "p" and self._field is not None and self._side:
            self.columns[self._side].append(self._field.strip())
            self._field = None
        elif tag in ("h1", "h2", "h3") and self._field is not None:
            self.headings.append(" ".join(self._field.split()))
            self._field = None
        elif tag == "section" and self._side:
            self._side = None


def columns_of(html: str) -> _Columns:
    parser = _Columns()
    parser.feed(html)
    return parser


@pytest.fixture
def newsroom():
    cand, pieces = desk_rows.newsroom()
    desk_rows.summary(cand)
    return cand, pieces


# --- The list --------------------------------------------------------------------------------------


def test_the_desk_lists_open_candidates_most_outlets_first_then_newest(editor_client):
    source = desk_rows.outlet("one.example", "center")
    hours = desk_rows.START.replace
    few_old = desk_rows.candidate("Few outlets, older", outlets_count=2, last_published_at=hours(hour=9))
    many = desk_rows.candidate("Many outlets", outlets_count=5, last_published_at=hours(hour=8))
    few_new = desk_rows.candidate("Few outlets, newer", outlets_count=2, last_published_at=hours(hour=10))
    desk_rows.candidate("Dismissed one", outlets_count=9, status=Candidate.Status.DISMISSED)
    for n, (cand, outlets) in enumerate([(few_old, 2), (many, 5), (few_new, 2)]):
        desk_rows.piece(cand, source, n)
        Candidate.objects.filter(pk=cand.pk).update(outlets_count=outlets)  # as other outlets would

    response = editor_client.get(DESK)
    assert response.status_code == 200
    assert [c.title for c in response.context["cl"].result_list] == [
        "Many outlets",
        "Few outlets, newer",
        "Few outlets, older",
    ]
    html = response.content.decode()
    assert "<h1>Story desk</h1>" in html
    assert all(word in html.lower() for word in ("outlets", "bias of the outlets", "newest piece", "status"))
    assert 'aria-label="Coverage bias: 0% left, 100% center, 0% right"' in html

    everything = editor_client.get(DESK, {"status": "all"})
    assert len(everything.context["cl"].result_list) == 4
    assert editor_client.get(DESK, {"status": "nonsense"})["Location"] == DESK + "?e=1"  # Django's answer


def test_a_candidate_that_became_a_story_links_to_it(newsroom, editor_client):
    cand, _ = newsroom
    editor_client.post(button(cand, "draft"), {"section": Category.objects.get(slug="world").pk})
    story = Article.objects.get()
    response = editor_client.get(DESK, {"status": "drafted"})
    assert reverse("admin:articles_article_change", args=[story.pk]) in response.content.decode()
    desk_page = editor_client.get(page(cand)).content.decode()
    assert "This candidate became the story" in desk_page and story.title in desk_page


# --- The desk page ---------------------------------------------------------------------------------


def test_the_desk_page_shows_the_pieces_side_by_side_by_lean(newsroom, writer_client):
    cand, pieces = newsroom
    response = writer_client.get(page(cand))
    assert response.status_code == 200
    html = response.content.decode()
    parsed = columns_of(html)
    assert parsed.columns == {
        "left": [pieces["left"].title],
        "center": [pieces["center"].title],
        "right": [pieces["lean_right"].title, pieces["copy"].title],  # originals first, then copies
        "unrated": [pieces["unrated"].title],
    }
    assert {"Left 1 outlet", "Center 1 outlet", "Right 2 outlets", "Unrated 1 outlet"} <= set(parsed.headings)
    assert {"Bias of the outlets", "Pieces by the lean of their outlet", "Draft summary"} <= set(
        parsed.headings
    )
    assert f'href="{pieces["left"].url}"' in html  # links to the originals
    assert '<strong class="desk-wire">Wire copy</strong> of Leftpost' in html
    # The bar: distinct outlets, the copy counted as its original (left, lean right, center).
    assert 'aria-label="Coverage bias: 34% left, 33% center, 33% right"' in html
    assert "Sentences chosen from the pieces (offline)" in html  # the summary's method
    assert "<q>Dockers went back to work.</q>" in html  # and where each sentence came from
    assert '<label for="id_section">Section:</label>' in html
    assert 'value="Make a draft story"' in html and "csrfmiddlewaretoken" in html
    assert "<script>" not in html and " style=" not in html  # the strict CSP holds


def test_make_a_draft_story_redirects_to_the_new_draft(newsroom, writer_client, writer):
    cand, _ = newsroom
    section = Category.objects.get(slug="politics")
    response = writer_client.post(button(cand, "draft"), {"section": section.pk})
    story = Article.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:articles_article_change", args=[story.pk])
    assert said(response)[-1] == (
        f"Drafted the story “{story.title}” with 5 sources: read it through, then publish it."
    )
    assert (story.status, story.category, story.created_by, story.ai_summary) == (
        "draft",
        section,
        writer,
        True,
    )
    cand.refresh_from_db()
    assert (cand.status, cand.story, cand.section) == (Candidate.Status.DRAFTED, story, section)
    assert writer_client.get(response["Location"]).status_code == 200  # an ordinary draft to edit

    again = writer_client.post(button(cand, "draft"), {"section": section.pk})
    assert again["Location"] == response["Location"] and Article.objects.count() == 1
    assert said(again)[-1] == f"This candidate became the story “{story.title}” already."


def test_a_draft_needs_a_section(writer_client):
    cand = desk_rows.candidate(section=None)
    desk_rows.piece(cand, desk_rows.outlet("a.example", "left"), 1)
    for posted in ({}, {"section": ""}, {"section": "99999"}, {"section": "x"}):
        response = writer_client.post(button(cand, "draft"), posted)
        assert response.status_code == 400
        assert 'class="errorlist' in response.content.decode()
    assert not Article.objects.exists() and Candidate.objects.get().status == Candidate.Status.OPEN


def test_saving_the_section_alone(newsroom, writer_client):
    cand, _ = newsroom
    sport = Category.objects.get(slug="sports")
    response = writer_client.post(button(cand, "section"), {"section": sport.pk})
    assert response["Location"] == page(cand)
    assert Candidate.objects.get().section == sport and not Article.objects.exists()


def test_a_draft_whose_picture_fails_says_so(newsroom, writer_client, settings):
    cand, pieces = newsroom
    pieces["left"].image_url = "http://127.0.0.1:9/lead.jpg"  # refused: a private address
    pieces["left"].save()
    response = writer_client.post(button(cand, "draft"), {"section": cand.section_id})
    messages = said(response)
    assert messages[0].startswith("The draft has no picture: leftpost.example: ")
    assert messages[-1].startswith("Drafted the story")
    assert not Article.objects.get().image


def test_the_buttons_take_post_only_with_a_csrf_token(newsroom, writer):
    cand, _ = newsroom
    client = signed_in_client(writer)
    assert client.get(button(cand, "draft")).status_code == 405
    assert client.post(page(cand)).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(writer)
    assert strict.post(button(cand, "draft"), {"section": cand.section_id}).status_code == 403
    assert not Article.objects.exists()


def test_an_unknown_candidate_is_404(writer_client):
    assert writer_client.get(reverse("admin:newsdesk_candidate_change", args=[12345])).status_code in (
        302,
        404,
    )
    assert writer_client.post(button(Candidate(pk=12345), "draft")).status_code == 404
    assert writer_client.post("/admin/newsdesk/candidate/abc/dismiss/").status_code == 404


def test_dismiss_and_reopen(newsroom, editor_client):
    cand, _ = newsroom
    response = editor_client.post(button(cand, "dismiss"))
    assert response["Location"] == DESK
    assert Candidate.objects.get().status == Candidate.Status.DISMISSED
    assert cand.pk not in [c.pk for c in editor_client.get(DESK).context["cl"].result_list]
    assert 'value="Reopen"' in editor_client.get(page(cand)).content.decode()
    again = editor_client.post(button(cand, "dismiss"))
    assert said(again)[-1] == "Only an open candidate can be dismissed; this one is “Dismissed”."
    editor_client.post(button(cand, "reopen"))
    assert Candidate.objects.get().status == Candidate.Status.OPEN


def test_split_chosen_pieces_out_from_the_desk_page(newsroom, editor_client):
    cand, pieces = newsroom
    chosen = [pieces["center"].pk, pieces["unrated"].pk]
    response = editor_client.post(button(cand, "split"), {"pieces": [*map(str, chosen), "junk"]})
    assert response["Location"] == page(cand)
    new = Candidate.objects.exclude(pk=cand.pk).get()
    assert set(new.pieces.values_list("pk", flat=True)) == set(chosen)
    assert said(response)[0].startswith("Split 2 pieces out into a new candidate")
    assert cand.pieces.count() == 3

    nothing = editor_client.post(button(cand, "split"), {})
    assert said(nothing)[-1] == "Choose the pieces to split out."
    everything = editor_client.post(button(cand, "split"), {"pieces": [p.pk for p in cand.pieces.all()]})
    assert said(everything)[-1] == "Splitting every piece out would leave the candidate empty."
    assert Candidate.objects.count() == 2


def test_split_from_the_piece_list(newsroom, writer_client):
    cand, pieces = newsroom
    response = writer_client.post(
        PIECES, {"action": "split_selected", "_selected_action": [pieces["left"].pk, pieces["copy"].pk]}
    )
    assert response.status_code == 302
    new = Candidate.objects.exclude(pk=cand.pk).get()
    assert set(new.pieces.all()) == {pieces["left"], pieces["copy"]}


def test_merge_the_two_selected_candidates(newsroom, editor_client):
    cand, pieces = newsroom
    other = desk_rows.candidate("Port reopens", outlets_count=1)
    extra = desk_rows.piece(other, pieces["left"].outlet, 9)
    response = editor_client.post(DESK, {"action": "merge_selected", "_selected_action": [cand.pk, other.pk]})
    assert response.status_code == 302
    assert list(Candidate.objects.all()) == [cand]  # the one more outlets cover keeps its place
    assert extra in cand.pieces.all()
    assert said(response)[0].startswith("Merged “Port reopens” (1 piece) into")

    one = editor_client.post(DESK, {"action": "merge_selected", "_selected_action": [cand.pk]})
    assert said(one)[-1] == "Choose exactly two candidates to merge."


def test_later_pieces_are_offered_and_added_as_sources_from_the_page(newsroom, writer_client):
    cand, pieces = newsroom
    writer_client.post(button(cand, "draft"), {"section": cand.section_id})
    story = Article.objects.get()
    newcomer = desk_rows.piece(cand, pieces["center"].outlet, 7, title="Port reopens fully")
    html = writer_client.get(page(cand)).content.decode()
    assert "Pieces offered to the story" in html and "Port reopens fully" in html

    response = writer_client.post(button(cand, "add_sources"), {"pieces": [newcomer.pk]})
    assert said(response)[-1] == f"Added 1 source to “{story.title}”."
    assert story.article_sources.filter(url=newcomer.url).exists()
    assert "Port reopens fully" not in columns_of(writer_client.get(page(cand)).content.decode()).headings


def test_a_writer_adding_to_a_live_story_is_told_it_needs_an_editor(newsroom, writer_client):
    cand, pieces = newsroom
    writer_client.post(button(cand, "draft"), {"section": cand.section_id})
    Article.objects.update(status=Article.Status.PUBLISHED, published_at=desk_rows.START)
    newcomer = desk_rows.piece(cand, pieces["center"].outlet, 7)
    response = writer_client.post(button(cand, "add_sources"), {"pieces": [newcomer.pk]})
    assert response.status_code == 302
    assert said(response)[-1] == "Only editors can change a published story."
    assert Article.objects.get().article_sources.count() == 5


# --- Feeds, pieces, summaries ----------------------------------------------------------------------


def test_an_editor_adds_a_feed_and_sees_its_state(editor_client):
    outlet = desk_rows.outlet("herald.example", "center")
    response = editor_client.post(
        reverse("admin:newsdesk_feed_add"),
        {"outlet": outlet.pk, "url": "https://herald.example/rss.xml", "active": "on"},
    )
    assert response.status_code == 302
    feed = Feed.objects.get()
    assert (feed.outlet, feed.url) == (outlet, "https://herald.example/rss.xml")
    Feed.objects.filter(pk=feed.pk).update(
        last_status=Feed.Status.ERROR, last_http_status=503, error_count=3, last_error="HTTP 503 from it"
    )
    html = editor_client.get(FEEDS).content.decode()
    for column in ("last fetch", "status", "items", "next fetch", "errors", "last error"):
        assert column in html.lower()
    assert "Failed (HTTP 503)" in html and "HTTP 503 from it" in html
    bad = editor_client.post(
        reverse("admin:newsdesk_feed_add"), {"outlet": outlet.pk, "url": "ftp://x.example/"}
    )
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()


def test_fetch_now_queues_the_selected_feeds(editor_client, django_capture_on_commit_callbacks):
    outlet = desk_rows.outlet("herald.example", "center")
    feed = Feed.objects.create(outlet=outlet, url="https://herald.example/rss.xml")
    asleep = Feed.objects.create(outlet=outlet, url="https://herald.example/old.xml", active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            FEEDS, {"action": "fetch_now", "_selected_action": [feed.pk, asleep.pk]}
        )
    assert response.status_code == 302
    assert {"feed_id": feed.pk} in waiting_calls(tasks.fetch_feed_task)
    assert {"feed_id": asleep.pk} not in waiting_calls(tasks.fetch_feed_task)
    feed.refresh_from_db()
    assert feed.next_fetch_at is not None
    messages = said(response)
    assert messages[0].startswith("Queued 1 feed to be fetched now")
    assert messages[1] == "1 inactive feed was left alone: make a feed active to fetch it."


def test_pieces_are_read_only_searchable_and_filtered_by_candidate(newsroom, writer_client):
    cand, pieces = newsroom
    loose = desk_rows.piece(None, pieces["left"].outlet, 20, title="Unrelated council vote")
    listed = writer_client.get(PIECES, {"candidate": cand.pk}).context["cl"].result_list
    assert set(listed) == set(cand.pieces.all())
    assert list(writer_client.get(PIECES, {"candidate": "none"}).context["cl"].result_list) == [loose]
    assert list(writer_client.get(PIECES, {"q": "council"}).context["cl"].result_list) == [loose]
    assert writer_client.get(PIECES, {"candidate": "nonsense"})["Location"] == PIECES + "?e=1"
    change = reverse("admin:newsdesk_piece_change", args=[loose.pk])
    view = writer_client.get(change)
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()
    assert writer_client.post(change, {"title": "Changed"}).status_code == 403
    assert Piece.objects.get(pk=loose.pk).title == "Unrelated council vote"


def test_summaries_are_listed_with_their_method(newsroom, writer_client):
    response = writer_client.get(reverse("admin:newsdesk_summary_changelist"))
    assert response.status_code == 200 and "Sentences chosen from the pieces" in response.content.decode()


# --- Who may do what -------------------------------------------------------------------------------


def test_staff_without_newsroom_rights_get_403(newsroom, django_user_model):
    cand, _ = newsroom
    nobody = signed_in_client(django_user_model.objects.create_user("nobody", is_staff=True))
    for url in (DESK, page(cand), PIECES, FEEDS, reverse("admin:newsdesk_summary_changelist")):
        assert nobody.get(url).status_code == 403, url
    for name in ("draft", "section", "dismiss", "reopen", "split", "add_sources"):
        assert nobody.post(button(cand, name), {"section": cand.section_id}).status_code == 403, name
    assert not Article.objects.exists() and Candidate.objects.get().status == Candidate.Status.OPEN


def test_writers_see_feeds_and_editors_look_after_them(writer_client, editor_client):
    outlet = desk_rows.outlet("herald.example", "center")
    feed = Feed.objects.create(outlet=outlet, url="https://herald.example/rss.xml")
    listing = writer_client.get(FEEDS)
    assert listing.status_code == 200 and "fetch_now" not in listing.content.decode()
    assert writer_client.get(reverse("admin:newsdesk_feed_add")).status_code == 403
    assert (
        writer_client.post(FEEDS, {"action": "fetch_now", "_selected_action": [feed.pk]}).status_code == 200
    )
    assert Feed.objects.get().next_fetch_at is None
    assert "fetch_now" in editor_client.get(FEEDS).content.decode()


def test_a_viewer_of_the_desk_gets_no_buttons(newsroom, django_user_model):
    from django.contrib.auth.models import Permission

    cand, _ = newsroom
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_candidate"))
    client = signed_in_client(viewer)
    html = client.get(page(cand)).content.decode()
    assert not re.search(r"<form method=\"post\"", html.split('id="content-main"')[1])
    assert client.post(button(cand, "dismiss")).status_code == 403


def test_a_merge_or_a_split_queues_the_changed_candidates_summaries(
    newsroom, editor_client, django_capture_on_commit_callbacks
):
    from newsdesk import tasks
    from newsdesk.queued import waiting_calls

    cand, pieces = newsroom
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(button(cand, "split"), {"pieces": [pieces["center"].pk]})
    new = Candidate.objects.exclude(pk=cand.pk).get()
    queued = {call["candidate_id"] for call in waiting_calls(tasks.summarise_task)}
    assert queued == {cand.pk, new.pk}
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(DESK, {"action": "merge_selected", "_selected_action": [cand.pk, new.pk]})
    assert {call["candidate_id"] for call in waiting_calls(tasks.summarise_task)} == {cand.pk, new.pk}
