"""/search/?q=: full-text search on PostgreSQL, a word-matching fallback on SQLite, one page for both.

Tests marked `postgres` cover what only PostgreSQL does (ranking, phrases, OR, stemming, the GIN index);
the rest must hold on both databases. Only-published is part of the matrix in test_public_pages.py.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from tests.admin.test_admin import browser_post
from tests.factories import ArticleFactory, ArticleSourceFactory, SourceFactory, import_one_story

pytestmark = pytest.mark.django_db

SEARCH = reverse("articles:search")
BAD_REQUEST = "We couldn’t understand that request"
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite fallback; PostgreSQL ranks by relevance instead"
)


def story(title, summary="Nothing else to report.", outlets=(), **kwargs):
    article = ArticleFactory(title=title, summary=summary, **kwargs)
    for outlet in outlets:
        ArticleSourceFactory(article=article, source=outlet)
    return article


def search(client, q, status=200, **params):
    response = client.get(SEARCH, {"q": q, **params})
    assert response.status_code == status, q
    return response.content.decode()


def titles(html):
    """The result titles, in the order shown."""
    return re.findall(r'<h2 class="card-title"><a href="[^"]*">(.*?)</a></h2>', html)


def snippets(html):
    return re.findall(r'<p class="snippet">(.*?)</p>', html, re.S)


# --- What matches, on both databases ----------------------------------------------------------------


def test_finds_stories_by_title_summary_or_outlet_name(client):
    story("Glacier retreat measured")
    story("Alpine report", summary="The glacier lost a third of its ice.")
    story("Weekly round-up", outlets=[SourceFactory(name="Glacier Times")])
    story("Harbour strike ends")
    html = search(client, "glacier")
    assert sorted(titles(html)) == ["Alpine report", "Glacier retreat measured", "Weekly round-up"]
    assert "3 stories found for “glacier”." in html


def test_every_word_must_match_somewhere(client):
    story("Harbour strike ends")
    story("Strike at the harbour is over")
    story("Harbour news", summary="The strike is over.")
    story("Harbour reopens")
    story("Rail strike called")
    html = search(client, "harbour strike")
    assert sorted(titles(html)) == ["Harbour news", "Harbour strike ends", "Strike at the harbour is over"]


def test_a_minus_sign_leaves_a_word_out(client):
    # The search form's hint promises this on every database.
    story("Election results announced")
    story("Election day football match", summary="Football and voting.")
    assert titles(search(client, "election -football")) == ["Election results announced"]


def test_no_match_says_so(client):
    story("Harbour strike ends")
    html = search(client, "volcano")
    assert titles(html) == []
    assert "No published story matches “volcano”. Try fewer or different words." in html


def test_results_are_highlighted_and_escaped(client):
    story(
        "Alpine report",
        summary="The glacier shrank as 1 < 2 & 3 > 2. <script>alert(1)</script> `<b>code</b>`",
    )
    html = search(client, "glacier")
    [snippet] = snippets(html)
    assert "<mark>glacier</mark>" in snippet
    # Markup from the story is escaped or dropped, never live: the only tags are the highlights.
    assert re.sub(r"</?mark>", "", snippet).count("<") == 0
    assert "1 &lt; 2 &amp; 3" in snippet
    assert "<script>alert(1)</script>" not in html


def test_results_are_paginated(client):
    for day in range(23):
        story(f"Glacier update {day}", published_at=datetime(2026, 1, 1 + day, tzinfo=UTC))
    first = search(client, "glacier")
    assert len(titles(first)) == 20
    assert "23 stories found" in first
    assert "Page 1 of 2" in first
    second = search(client, "glacier", page="2")
    assert len(titles(second)) == 3
    assert "Page 2 of 2" in second
    assert set(titles(first)).isdisjoint(titles(second))
    past = search(client, "glacier", page="3")
    assert "There is no page 3 of results for “glacier”: the results end on page 2." in past


def test_a_story_edited_in_the_admin_is_found_by_its_new_title(client, editor_client):
    article = story("Harbour strike ends")
    url = reverse("admin:articles_article_change", args=[article.pk])
    assert browser_post(editor_client, url, title="Volcano erupts overnight").status_code == 302
    assert titles(search(client, "volcano")) == ["Volcano erupts overnight"]
    assert titles(search(client, "harbour")) == []


def test_an_outlet_renamed_in_the_admin_finds_its_stories_by_the_new_name(client, editor_client):
    outlet = SourceFactory(name="Morning Post")
    story("Weekly round-up", outlets=[outlet])
    url = reverse("admin:articles_source_change", args=[outlet.pk])
    assert browser_post(editor_client, url, form_id="source_form", name="Evening Herald").status_code == 302
    assert titles(search(client, "herald")) == ["Weekly round-up"]
    assert titles(search(client, "morning")) == []


def test_a_reimported_story_is_found_by_its_new_title(client, tmp_path):
    for title in ("Harbour strike ends", "Volcano erupts overnight"):
        import_one_story(tmp_path, title=title)
    assert titles(search(client, "volcano")) == ["Volcano erupts overnight"]
    assert titles(search(client, "harbour")) == []


# --- Bad input: 200 or 400 with a helpful page, never a server error --------------------------------


@pytest.mark.parametrize(
    ("q", "status", "message"),
    [
        ("", 200, "Search published stories"),
        ("   \t ", 200, "Search published stories"),
        ("a" * 200, 200, "No published story matches"),
        ("a" * 201, 400, "Your search is 201 characters long; please keep it under 200."),
        ("glacier " * 150, 400, "please keep it under 200"),
        ("gla\x00cier", 400, "Your search contains a character we cannot search for."),
    ],
    ids=["empty", "blank", "200-chars", "201-chars", "1200-chars", "nul-byte"],
)
def test_empty_long_and_nul_queries(client, q, status, message):
    story("Glacier retreat measured")
    html = search(client, q, status=status)
    assert message in html
    assert '<form class="search-form"' in html
    assert '<nav class="site-nav"' in html
    if status == 400:
        assert '<p class="form-error" role="alert">' in html


@pytest.mark.parametrize(
    "q",
    [
        "ｇｌａｃｉｅｒ",  # fullwidth letters
        "𝔤𝔩𝔞𝔠𝔦𝔢𝔯",  # mathematical letters
        "gla\u200bcier",  # a zero-width space inside the word
        "\u202eglacier\u202c",  # right-to-left override around it
        "\ufeffglacier",  # a byte-order mark
    ],
    ids=["fullwidth", "fraktur", "zero-width", "bidi", "bom"],
)
def test_odd_unicode_is_normalised_to_the_word_it_looks_like(client, q):
    story("Glacier retreat measured")
    assert titles(search(client, q)) == ["Glacier retreat measured"]


@pytest.mark.parametrize(
    "q",
    ['"', '""', '"unclosed phrase', "-", "--", "OR", "glacier OR", "!!", "(", ":*", "&|", "'", "\\", "<>",
     "%", "_", "glacier:*", "a & b | !c", "é", "e\u0301", "🧊", "日本語", "Ω≈ç√"],
)  # fmt: skip
def test_query_syntax_oddities_never_break_the_page(client, q):
    story("Glacier retreat measured")
    html = search(client, q)
    assert "Search published stories" in html


def test_undecodable_bytes_in_the_address_are_not_a_server_error(client):
    story("Glacier retreat measured")
    response = client.get(f"{SEARCH}?q=%ff%fe%00glacier")
    assert response.status_code in (200, 400)
    assert b"Search published stories" in response.content


@pytest.mark.parametrize("number", ["abc", "-1", "0", "1.5", "9" * 40, "²", "١٢"])
def test_a_malformed_page_number_is_a_friendly_400(client, number):
    story("Glacier retreat measured")
    html = search(client, "glacier", status=400, page=number)
    assert BAD_REQUEST in html
    assert "is not a page number" in html
    assert '<a class="brand" href="/">' in html  # the error page leads home (it has no section nav)


def test_a_page_past_the_end_explains_where_the_results_end(client):
    story("Glacier retreat measured")
    html = search(client, "glacier", page="99999")
    assert "There is no page 99999 of results for “glacier”: the results end on page 1." in html


# --- The SQLite fallback ----------------------------------------------------------------------------


@sqlite_only
def test_fallback_lists_matches_newest_first_wherever_the_word_is(client):
    now = datetime(2026, 3, 1, tzinfo=UTC)
    story("Glacier retreat measured", published_at=now - timedelta(days=3))
    story("Weekly round-up", outlets=[SourceFactory(name="Glacier Times")], published_at=now)
    story("Alpine report", summary="The glacier lost ice.", published_at=now - timedelta(days=1))
    assert titles(search(client, "glacier")) == [
        "Weekly round-up",
        "Alpine report",
        "Glacier retreat measured",
    ]


@sqlite_only
def test_fallback_matches_words_inside_longer_words_and_ignores_case(client):
    story("GLACIERS in retreat")
    assert titles(search(client, "glacier")) == ["GLACIERS in retreat"]


# --- PostgreSQL full-text search --------------------------------------------------------------------


@pytest.mark.postgres
def test_title_ranks_above_summary_above_outlet_name(client):
    # Newest first would give the opposite order: relevance must win over recency.
    now = datetime(2026, 3, 1, tzinfo=UTC)
    story("Glacier retreat measured", published_at=now - timedelta(days=2))
    story("Alpine report", summary="The glacier lost ice.", published_at=now - timedelta(days=1))
    story("Weekly round-up", outlets=[SourceFactory(name="Glacier Times")], published_at=now)
    assert titles(search(client, "glacier")) == [
        "Glacier retreat measured",
        "Alpine report",
        "Weekly round-up",
    ]


@pytest.mark.postgres
def test_quoted_phrase_matches_the_words_together_in_order(client):
    story("River treaty signed")
    story("Treaty on the river", summary="A river. A treaty.")
    assert titles(search(client, '"river treaty"')) == ["River treaty signed"]
    assert sorted(titles(search(client, "river treaty"))) == ["River treaty signed", "Treaty on the river"]


@pytest.mark.postgres
def test_or_matches_either_word(client):
    story("Glacier retreat measured")
    story("Volcano erupts overnight")
    story("Harbour strike ends")
    assert sorted(titles(search(client, "glacier OR volcano"))) == [
        "Glacier retreat measured",
        "Volcano erupts overnight",
    ]


@pytest.mark.postgres
def test_words_match_their_other_forms_and_are_highlighted(client):
    story("Ice report", summary="The glaciers are melting faster than forecast.")
    html = search(client, "melt glacier")
    assert titles(html) == ["Ice report"]
    [snippet] = snippets(html)
    assert "<mark>glaciers</mark>" in snippet
    assert "<mark>melting</mark>" in snippet


@pytest.mark.postgres
def test_the_stored_search_vector_has_a_gin_index():
    story("Glacier retreat measured", outlets=[SourceFactory(name="Morning Post")])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'articles_article' AND indexdef ILIKE %s",
            ["%USING gin (search_vector)%"],
        )
        assert cursor.fetchall() == [("article_search_gin",)]
        # Stored at save time, with the outlet's name in it: nothing is computed per query.
        cursor.execute(
            "SELECT title FROM articles_article WHERE search_vector @@ to_tsquery('english', %s)",
            ["morning & glacier"],
        )
        assert cursor.fetchall() == [("Glacier retreat measured",)]


# --- A fixed number of queries, whatever the number of matches --------------------------------------

# 1 the matches  2 the page of matches with section and rating  3 the navigation  4 when the next
# scheduled story goes live (a kept page must not outlive it; looked up once per content version)
SEARCH_QUERIES = 4


@pytest.mark.parametrize("n", [5, 40])
def test_search_runs_a_fixed_number_of_queries(client, django_assert_num_queries, n):
    outlet = SourceFactory(name="Glacier Times")
    for i in range(n):
        story(f"Glacier update {i}", outlets=[outlet, SourceFactory()], with_image=i < 2)
    ArticleFactory(title="Glacier draft", draft=True)
    with django_assert_num_queries(SEARCH_QUERIES):
        response = client.get(SEARCH, {"q": "glacier"})
    assert len(titles(response.content.decode())) == min(n, 20)
