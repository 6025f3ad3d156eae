"""A story's "How this was rated": what its bar rests on, under the bar, as plain HTML (no script)."""

import html as html_lib
import re
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from articles.models import BiasRating, SourceRating
from articles.newsroom.stories import bias_rating_refresh
from tests.factories import ArticleFactory, ArticleSourceFactory, BiasRatingFactory, SourceFactory

pytestmark = pytest.mark.django_db

PUBLISHED = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)


def entry(outlet, lean, **rating):
    """One outlet of a basis, as articles.newsroom.basis writes it."""
    rated = lean != "unrated"
    return {
        "outlet": outlet.pk,
        "name": outlet.name,
        "slug": outlet.slug,
        "lean": lean,
        "rating": 1 if rated else None,
        "rater": rating.get("rater", "newsapp newsroom") if rated else "",
        "rater_kind": rating.get("rater_kind", "newsroom") if rated else "",
        "effective_from": rating.get("effective_from", "2021-05-04") if rated else None,
        "confidence": rating.get("confidence", "high") if rated else "",
        "method": rating.get("method", "Editorial review of 40 recent articles") if rated else "",
    }


def disclosure(client, story) -> str:
    """The story page's disclosure, whitespace folded and entities decoded."""
    response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    found = re.search(r'<details class="rating-disclosure">.*?</details>', page, re.S)
    assert found, "no disclosure on the story page"
    return html_lib.unescape(re.sub(r"\s+", " ", found.group(0)))


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@pytest.fixture
def outlets():
    return {
        "herald": SourceFactory(name="Harbour Herald", slug="harbour-herald", bias="lean_left"),
        "times": SourceFactory(name="Coast Times", slug="coast-times", bias="center"),
        "post": SourceFactory(name="Bay Post", slug="bay-post", bias="right"),
        "gazette": SourceFactory(name="Quay Gazette", slug="quay-gazette", bias="unrated"),
        "wire": SourceFactory(name="Wire Agency", slug="wire-agency", bias="center"),
    }


def computed_story(outlets, **rating):
    story = ArticleFactory(title="Harbour strike", published_at=PUBLISHED)
    basis = {
        "outlets": [
            entry(
                outlets["herald"], "lean_left", rater="AllSides", rater_kind="external", confidence="medium"
            ),
            entry(outlets["times"], "center", effective_from="2019-01-10", confidence="low"),
            entry(outlets["post"], "right", method="Blind survey of readers."),
            entry(outlets["gazette"], "unrated"),
        ],
        "wire_copies": [{"outlet": outlets["wire"].pk, "name": "Wire Agency", "slug": "wire-agency"}],
    }
    fields = {
        "left": 34,
        "center": 33,
        "right": 33,
        "method": BiasRating.Method.SOURCES,
        "unrated_sources": 1,
    }
    fields.update(rating)
    BiasRatingFactory(
        article=story,
        as_of=date(2023, 3, 1),
        outlets_left=1,
        outlets_center=1,
        outlets_right=1,
        basis=basis,
        **fields,
    )
    return story


def test_a_computed_bar_lists_the_outlets_counted_with_their_dated_rating(client, outlets):
    text = disclosure(client, computed_story(outlets))
    assert "<summary>How this was rated</summary>" in text
    assert "Computed from 3 rated outlets: 1 left, 1 center, 1 right, one voice per outlet." in plain(text)
    assert 'in force on <time datetime="2023-03-01">1 March 2023</time>, the story\'s date' in text
    assert f'<a href="{outlets["herald"].get_absolute_url()}">Harbour Herald</a>' in text
    words = plain(text)
    assert (
        "Harbour Herald: Lean left. Rated by AllSides (external rater), in force from 4 May 2021; "
        "confidence medium; method: Editorial review of 40 recent articles."
    ) in words
    assert '<time datetime="2021-05-04">4 May 2021</time>' in text
    assert (
        "Coast Times: Center. Rated by newsapp newsroom, in force from 10 January 2019; confidence low"
        in words
    )
    assert "Bay Post: Right." in words
    assert "method: Blind survey of readers." in words  # one full stop, not two
    assert "An editor set these numbers by hand" not in text


def test_unrated_outlets_are_named_as_left_out(client, outlets):
    text = disclosure(client, computed_story(outlets))
    left_out = text.split("Left out as unrated")[1].split("</ul>")[0]
    assert "Quay Gazette" in left_out
    assert "Harbour Herald" not in left_out
    counted = text.split("Outlets counted:")[1].split("</ul>")[0]
    assert "Quay Gazette" not in counted


def test_wire_copies_are_named_as_counted_once(client, outlets):
    text = disclosure(client, computed_story(outlets))
    copies = text.split("Cited only for wire copies, so not counted again")[1].split("</ul>")[0]
    assert "a wire copy's report counts once, through the outlet that wrote it" in copies
    assert f'<a href="{outlets["wire"].get_absolute_url()}">Wire Agency</a>' in copies
    assert "Wire Agency" not in text.split("Outlets counted:")[1].split("</ul>")[0]


def test_an_editors_numbers_are_said_to_be_set_by_hand(client, outlets):
    story = computed_story(outlets, left=10, center=10, right=80, method=BiasRating.Method.EDITORIAL)
    text = disclosure(client, story)
    assert "An editor set these numbers by hand: Left 10% · Center 10% · Right 80%." in plain(text)
    # The outlets' own split, for comparison: 1 left (lean left), 1 center, 1 right.
    assert "the bar would read Left 34% · Center 33% · Right 33%." in text
    assert "Harbour Herald" in text and "Quay Gazette" in text
    assert "Computed from 3 rated outlets" not in text


def test_it_links_the_methodology_and_works_without_javascript(client, outlets):
    story = computed_story(outlets)
    page = client.get(story.get_absolute_url()).content.decode()
    text = disclosure(client, story)
    assert f'<a href="{reverse("coverage:methodology")}">How we rate coverage</a>' in text
    # A <details> opens in the browser alone: the page carries no script, and the disclosure sits
    # in the bias section, right under the bar.
    assert "<script" not in page.replace('<script type="application/ld+json">', "")
    bias = re.search(r'<section class="story-bias".*?</section>', page, re.S).group(0)
    assert bias.index('class="bias"') < bias.index('<details class="rating-disclosure">')


def test_a_real_basis_from_the_ratings_in_force_on_the_story_date(client, settings):
    """The basis bias_rating_refresh writes: the rating of the story's date, not today's."""
    moved = SourceFactory(name="Moving Daily", bias="left", rating=False)
    SourceRating.objects.create(
        source=moved, lean="center", effective_from=date(2017, 1, 1), method="Panel review", confidence="high"
    )
    SourceRating.objects.create(
        source=moved, lean="left", effective_from=date(2024, 1, 1), method="Panel review"
    )
    steady = SourceFactory(name="Steady Courier", bias="right")
    newcomer = SourceFactory(name="Late Bulletin", bias="left", rating=False)
    SourceRating.objects.create(
        source=newcomer, lean="left", effective_from=date(2024, 6, 1), method="Review"
    )
    story = ArticleFactory(published_at=PUBLISHED)
    for outlet in (moved, steady, newcomer):
        ArticleSourceFactory(article=story, source=outlet)
    ArticleSourceFactory(article=story, source=SourceFactory(name="Copy Wire"), wire_copy=True)
    bias_rating_refresh(article=story)

    text = disclosure(client, story)
    assert "Computed from 2 rated outlets: 0 left, 1 center, 1 right" in plain(text)
    newsroom = f"{settings.NEWSAPP_SITE_NAME} newsroom"
    assert f"Moving Daily: Center. Rated by {newsroom}, in force from 1 January 2017; " in plain(text)
    assert "confidence high; method: Panel review." in plain(text)
    assert "Late Bulletin" in text.split("Left out as unrated")[1]
    assert "Copy Wire" in text.split("Cited only for wire copies")[1]


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("no-sources", "This story has no bar because it lists no sources yet."),
        ("wire-copies", "This story has no bar because its only sources are wire copies"),
        ("none-rated", "none of the outlets it cites had a rating in force when its balance was worked out"),
    ],
)
def test_a_story_without_a_bar_says_why(client, setup, words):
    story = ArticleFactory()
    if setup == "wire-copies":
        ArticleSourceFactory(article=story, wire_copy=True)
    if setup == "none-rated":
        for name in ("Quay Gazette", "Pier Review"):
            ArticleSourceFactory(article=story, source=SourceFactory(name=name, bias="unrated"))
    text = disclosure(client, story)
    assert words in text
    if setup == "none-rated":
        assert "<li>Quay Gazette</li><li>Pier Review</li>" in text
    assert f'href="{reverse("coverage:methodology")}"' in text


ODD_BASES = [
    {},
    {"outlets": None},
    {"outlets": "Harbour Herald"},
    {"outlets": [None, 3, "x", []]},
    {"outlets": [{}]},
    {"outlets": [{"name": "Bare Outlet"}]},
    {"outlets": [{"name": "Odd Outlet", "slug": "not a slug!", "lean": "sideways", "confidence": "total"}]},
    {"outlets": [{"name": "Dated Badly", "lean": "left", "effective_from": "2023-02-30", "confidence": 7}]},
    {"outlets": [{"name": 12, "lean": ["left"]}], "wire_copies": "none"},
    {"outlets": [{"name": "Listed", "lean": "center"}], "wire_copies": [{"name": None}, {"slug": "x"}]},
    [],
    "not a document",
]


@pytest.mark.parametrize("basis", ODD_BASES, ids=range(len(ODD_BASES)))
def test_odd_or_old_basis_data_never_fails_the_page(client, basis):
    story = ArticleFactory()
    BiasRatingFactory(article=story, method=BiasRating.Method.SOURCES, unrated_sources=2, basis=basis)
    text = disclosure(client, story)
    assert "How this was rated" in text


def test_a_rating_made_before_bases_were_kept_says_so(client):
    story = ArticleFactory()
    BiasRatingFactory(article=story, method=BiasRating.Method.SOURCES, unrated_sources=2, basis={})
    text = disclosure(client, story)
    assert "Computed from the leans of this story's sources, with 2 unrated sources left out." in plain(text)
    assert "the details are not available" in text


def test_odd_entries_are_shown_as_far_as_they_can_be_read(client):
    story = ArticleFactory()
    basis = {
        "outlets": [
            {"name": "Odd Outlet", "slug": "not a slug!", "lean": "sideways"},
            {"name": "Dated Badly", "lean": "left", "effective_from": "2023-02-30", "confidence": "total"},
        ]
    }
    BiasRatingFactory(article=story, method=BiasRating.Method.SOURCES, basis=basis)
    text = disclosure(client, story)
    assert "<li>Odd Outlet</li>" in text.split("Left out as unrated")[1]  # unknown lean: unrated, no link
    assert "Dated Badly: Left." in plain(text)
    assert "Rater not recorded." in text  # no date, no confidence: nothing made up


def test_outlet_names_from_the_basis_are_escaped(client):
    story = ArticleFactory()
    basis = {"outlets": [{"name": "<script>alert(1)</script>", "lean": "center", "slug": "x"}]}
    BiasRatingFactory(article=story, method=BiasRating.Method.SOURCES, basis=basis)
    page = client.get(story.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_story_page_runs_no_more_queries_with_a_disclosure(
    client, outlets, django_assert_num_queries, settings
):
    """The basis comes with the rating, which comes with the story: 5 queries, as before
    (tests/site/test_query_counts.py)."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0
    settings.NEWSAPP_FRAGMENT_CACHE = False
    story = computed_story(outlets)
    for outlet in outlets.values():
        ArticleSourceFactory(article=story, source=outlet)
    with django_assert_num_queries(5):
        response = client.get(story.get_absolute_url())
    assert b"Outlets counted:" in response.content
