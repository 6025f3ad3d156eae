"""What a search query becomes, and the bounds on what one search costs.

Any query a reader can type is reduced to web-search syntax with each operator once (so PostgreSQL
can always build it) and gives results or a clear 400, never a 500, on both databases. Only the
newest CANDIDATES matches are ranked and counted; the headline is made for the shown page only.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from articles.models import Article
from articles.site import search
from articles.site.search import MAX_TERMS, clean_query, parse_query
from tests.factories import ArticleFactory
from tests.site.test_search import SEARCH, titles
from tests.site.test_search import search as get_search

pytestmark = pytest.mark.django_db

HYPHENS = "-" * 33


@pytest.mark.parametrize(
    ("typed", "searched"),
    [
        ("glacier", "glacier"),
        ("river treaty", "river treaty"),
        ('"river treaty"', '"river treaty"'),
        ('"unclosed phrase', '"unclosed phrase"'),
        ('-"river treaty" glacier', '-"river treaty" glacier'),
        ('"glacier"', "glacier"),
        (HYPHENS, ""),
        (HYPHENS + "glacier", "-glacier"),
        ("- " * 33 + "glacier", "glacier"),
        ("glacier " + "-" * 40 + "football", "glacier -football"),
        ("glacier OR OR OR volcano", "glacier OR volcano"),
        ("glacier or volcano", "glacier OR volcano"),
        ("OR glacier OR", "glacier"),
        ("or", ""),
        ('"or"', ""),
        ("glacier:* & volcano | !harbour", "glacier volcano harbour"),
        ("((((glacier))))", "glacier"),
        ("a&b", '"a b"'),
        ("covid-19 O'Brien U.S.", "covid-19 O'Brien U.S"),
        ("glacier--melt", "glacier-melt"),
        ("!!", ""),
        ("🧊", ""),
        ("日本語", "日本語"),
        ("हिन्दी", "हिन्दी"),
        (" ".join(f"w{n}" for n in range(15)), " ".join(f"w{n}" for n in range(MAX_TERMS))),
    ],
)
def test_queries_are_reduced_to_each_operator_once(typed, searched):
    assert str(parse_query(clean_query(typed))) == searched


# Operators, punctuation and words, in runs: what breaks query parsers.
PIECES = [*"-\"|&!:*()<>\\'%_.@~^+ \t", "OR", "or", " OR ", "glacier", "x", "é", "日", "\u200b", "🧊"]
ODD = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)
EXAMPLES = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(typed=ODD | st.text(max_size=220))
@EXAMPLES
def test_any_query_reads_back_as_itself(typed):
    try:
        query = parse_query(clean_query(typed))
    except search.QueryRejected:
        return
    assert parse_query(str(query)) == query
    assert len(query.terms) <= MAX_TERMS


@given(typed=ODD | st.text(max_size=220))
@settings(EXAMPLES, max_examples=150)
def test_any_query_gives_results_or_a_clear_400(typed):
    if not Article.objects.exists():  # examples share the test's transaction
        ArticleFactory(title="Glacier retreat measured", summary="The glacier lost x% of its ice.")
    response = Client(raise_request_exception=False).get(SEARCH, {"q": typed})
    assert response.status_code in (200, 400), typed
    assert b"Search published stories" in response.content


@pytest.mark.postgres
@given(typed=ODD)
@settings(EXAMPLES, max_examples=300)
def test_postgresql_can_build_every_reduced_query(typed):
    query = str(parse_query(clean_query(typed)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT websearch_to_tsquery(%s::regconfig, %s)", [search.CONFIG, query])


@pytest.mark.postgres
@pytest.mark.parametrize("typed", [HYPHENS, HYPHENS + "glacier", "- " * 33 + "glacier", "!-" * 40 + "x"])
def test_33_hyphens_are_not_a_server_error_on_postgresql(client, typed):
    # As typed, PostgreSQL cannot build the query: each "-" nests one NOT deeper.
    with (
        pytest.raises(DatabaseError, match="tsquery stack too small"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT websearch_to_tsquery('english', %s)", [HYPHENS])
    ArticleFactory(title="Glacier retreat measured")
    ArticleFactory(title="Harbour strike ends")
    html = get_search(client, typed)
    if typed == HYPHENS:
        assert "There is no word to search for" in html
    elif typed == "- " * 33 + "glacier":
        assert titles(html) == ["Glacier retreat measured"]
    elif typed == HYPHENS + "glacier":
        assert titles(html) == ["Harbour strike ends"]


def test_a_query_of_operators_alone_says_there_is_nothing_to_search_for(client, django_assert_num_queries):
    with django_assert_num_queries(1):  # the navigation; no search runs
        html = get_search(client, "-- ! OR :*")
    assert "There is no word to search for in “-- ! OR :*”." in html


def test_or_and_phrases_work_on_both_databases(client):
    ArticleFactory(title="Glacier retreat measured")
    ArticleFactory(title="Volcano erupts overnight")
    ArticleFactory(title="River treaty signed")
    ArticleFactory(title="Treaty on the river")
    assert sorted(titles(get_search(client, "glacier OR volcano"))) == [
        "Glacier retreat measured",
        "Volcano erupts overnight",
    ]
    assert titles(get_search(client, '"river treaty"')) == ["River treaty signed"]
    assert titles(get_search(client, '-"river treaty" treaty')) == ["Treaty on the river"]


# --- Bounded work ------------------------------------------------------------------------------------


def glacier_stories(count, *, start=datetime(2026, 1, 1, tzinfo=UTC)):
    """`count` matching stories, a day apart, the oldest with "glacier" in its title (ranked first
    on PostgreSQL), the others in their summaries only."""
    stories = [
        ArticleFactory(
            title=f"Update {day}",
            summary="News about a glacier.",
            published_at=start + timedelta(days=day),
        )
        for day in range(1, count)
    ]
    return [ArticleFactory(title="Glacier special", published_at=start), *stories]


def test_only_the_newest_candidates_are_ranked_and_counted(client, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 5)
    glacier_stories(8)
    html = get_search(client, "glacier")
    assert "More than 5 stories match “glacier”; here are the newest 5." in html
    # The oldest three, the title match among them, are not ranked at all.
    assert sorted(titles(html)) == ["Update 3", "Update 4", "Update 5", "Update 6", "Update 7"]
    assert "Page 1 of" not in html  # one page holds them all
    assert "There is no page 2 of results" in get_search(client, "glacier", page="2")


def test_an_exact_count_below_the_cap(client, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 5)
    glacier_stories(5)
    html = get_search(client, "glacier")
    assert "5 stories found for “glacier”." in html
    assert "More than" not in html


@pytest.mark.postgres
def test_candidates_are_ranked_among_themselves(client, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 5)
    glacier_stories(5)
    assert titles(get_search(client, "glacier"))[0] == "Glacier special"  # the oldest, but the best


def test_no_search_counts_or_ranks_past_the_cap(client, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 5)
    glacier_stories(8)
    with CaptureQueriesContext(connection) as captured:
        get_search(client, "glacier", page="1")
    sql = [query["sql"] for query in captured.captured_queries]
    assert not any("COUNT(" in statement.upper() for statement in sql)
    assert sum("LIMIT 6" in statement for statement in sql) == 1  # the newest 5, and one to say "more"


@pytest.mark.postgres
def test_the_headline_is_made_for_the_shown_page_only(client):
    glacier_stories(25)
    with CaptureQueriesContext(connection) as captured:
        html = get_search(client, "glacier")
    assert len(titles(html)) == 20
    [headlines] = [q["sql"] for q in captured.captured_queries if "ts_headline" in q["sql"]]
    assert "ts_rank" not in headlines and "@@" not in headlines  # not over the matches,
    assert '"articles_article"."id" IN (' in headlines  # over the page's stories


@pytest.mark.postgres
def test_the_search_vector_is_kept_in_the_row():
    # Matching a story then reads its row alone, not a TOAST page besides (migration 0012).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute"
            " WHERE attrelid = 'articles_article'::regclass AND attname = 'search_vector'"
        )
        assert cursor.fetchone() == ("m",)
