"""/methodology/: the method in plain words, with the numbers the code really uses."""

import html as html_lib
import re

import pytest
from django.urls import reverse

from articles.site.cache.pagecache import CACHEABLE_VIEWS
from tests.factories import ArticleFactory, BiasRatingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rendered_each_time(settings):
    """Each request renders the page (the page cache would serve the first one again, and the
    tests below change the settings it shows between requests)."""
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 0


def methodology(client) -> str:
    response = client.get(reverse("coverage:methodology"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return html_lib.unescape(re.sub(r"\s+", " ", response.content.decode()))


def test_the_page_lives_at_methodology(client):
    assert reverse("coverage:methodology") == "/methodology/"
    assert "<h1>How we rate coverage</h1>" in methodology(client)


def test_it_says_how_the_bar_is_computed(client):
    page = methodology(client)
    for words in [
        "One voice per outlet.",
        "Wire copies count once.",
        "An outlet rated lean left counts as left; one rated lean right counts as right.",
        "Whole percentages that add up to 100.",
        "largest remainder",
        "Unrated outlets are left out and counted apart.",
        # The worked example comes from the code that computes every bar (ties go left first).
        "Left 34% · Center 33% · Right 33%",
    ]:
        assert words in page, words


def test_it_says_what_each_lean_means(client):
    page = methodology(client)
    leans = re.search(r'<dl class="methodology-leans">(.*?)</dl>', page).group(1)
    assert re.findall(r"<dt>([^<]+)</dt>", leans) == [
        "Left",
        "Lean left",
        "Center",
        "Lean right",
        "Right",
        "Unrated",
    ]


def test_it_says_where_ratings_come_from_and_that_stories_keep_theirs(client):
    page = methodology(client)
    assert "our newsroom's own review, or an outside rater, named" in page
    assert "how sure the rater is: low, medium, high" in page
    assert "A story uses the ratings in force on the day it was published." in page
    assert "stories already published keep the bar they had" in page
    assert "An editor can ask for a story to be worked out again" in page


def test_it_explains_unrated_editorial_numbers_and_the_ai_note(client, settings):
    settings.NEWSAPP_AI_NOTE = "Drafted with a <b>model</b> & checked by a person."
    response = client.get(reverse("coverage:methodology"))
    raw = response.content.decode()
    assert "Drafted with a &lt;b&gt;model&lt;/b&gt; &amp; checked by a person." in raw  # escaped, as typed
    page = methodology(client)
    assert "A story none of whose outlets is rated shows no bar at all" in page
    assert "An editor may instead set the three numbers by hand" in page
    assert "The bias bar never comes from a language model" in page


def test_the_blindspot_rule_shows_the_settings_numbers(client, settings):
    page = methodology(client)
    assert 'n</var> is at least <strong class="methodology-figure">8</strong>' in page
    assert 'over the <strong class="methodology-figure">30</strong> days before' in page
    assert "95% Wilson interval" in page
    # z²/(8 + z²) with z = 1.959964: no outlet of a side among 8 leaves at most 32.4% plausible.
    assert "its interval runs from 0% to 32.4%" in page
    assert "With one outlet fewer, the story is never flagged" in page

    settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS = 10
    settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS = 14
    settings.NEWSAPP_BLINDSPOT_RECENT_DAYS = 3
    page = methodology(client)
    assert 'n</var> is at least <strong class="methodology-figure">10</strong>' in page
    assert 'over the <strong class="methodology-figure">14</strong> days before' in page
    assert 'the last <strong class="methodology-figure">3</strong> days' in page
    assert "its interval runs from 0% to 27.8%" in page  # 3.841459 / 13.841459


def test_the_baseline_is_explained(client):
    page = methodology(client)
    assert "The <strong>baseline</strong> is the side's share of all the rated outlet voices" in page
    assert "A section with no rated outlet in that window has no baseline" in page


def test_the_data_licence_is_the_settings_one(client, settings):
    page = methodology(client)
    assert '<a href="https://creativecommons.org/licenses/by/4.0/" rel="license">CC BY 4.0</a>' in page

    settings.NEWSAPP_DATA_LICENCE_NAME = "ODC-By 1.0 <open>"
    settings.NEWSAPP_DATA_LICENCE_URL = "https://opendatacommons.org/licenses/by/1-0/"
    raw = re.sub(r"\s+", " ", client.get(reverse("coverage:methodology")).content.decode())
    link = '<a href="https://opendatacommons.org/licenses/by/1-0/" rel="license">ODC-By 1.0 &lt;open&gt;</a>'
    assert link in raw

    settings.NEWSAPP_DATA_LICENCE_URL = ""
    page = methodology(client)
    assert "the <strong>ODC-By 1.0 <open></strong> licence" in page
    assert 'rel="license"' not in page


def test_it_links_the_pages_it_names(client):
    page = methodology(client)
    for name in ("articles:sources", "coverage:blindspot", "coverage:balance", "api:docs"):
        assert f'href="{reverse(name)}"' in page, name


def test_a_page_not_deployed_is_named_without_a_link(client, monkeypatch):
    from coverage import methodology as view

    monkeypatch.setitem(view.LINKED_PAGES, "balance", "coverage:no-such-page")
    page = methodology(client)
    assert "Coverage balance over time shows each section's split" in page


def test_the_footer_and_every_bar_link_here(client):
    story = ArticleFactory(title="Harbour strike")
    BiasRatingFactory(article=story)
    url = reverse("coverage:methodology")
    home = client.get(reverse("articles:home")).content.decode()
    footer = re.search(r'<footer class="site-footer">(.*?)</footer>', home, re.S).group(1)
    assert f'<a href="{url}">How we rate coverage</a>' in footer
    assert f'class="bias-about-icon" href="{url}" aria-label="How bias bars are worked out"' in home


def test_it_runs_no_query_but_the_navigation_and_is_kept_by_the_page_cache(
    client, django_assert_num_queries, settings
):
    with django_assert_num_queries(1):  # the sections for the navigation
        first = methodology(client)
    assert "coverage:methodology" in CACHEABLE_VIEWS
    settings.NEWSAPP_PAGE_CACHE_SECONDS = 300
    methodology(client)
    with django_assert_num_queries(0):
        assert methodology(client) == first


def test_only_get_and_head(client):
    url = reverse("coverage:methodology")
    assert client.head(url).status_code == 200
    assert client.post(url).status_code == 405
