"""Bias while writing: the bar of the chosen sources in the article form, the warnings on save,
the "bias" filter of the story list, and editorial versus computed ratings."""

import dataclasses
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.admin.bias import figures_text, method_text, unrated_text
from articles.bias import split_from_leans, voices
from articles.models import Article, BiasRating, Source
from tests.admin.test_admin import ADD, CHANGELIST, browser_post, citations, rating, story
from tests.factories import ArticleFactory, ArticleSourceFactory, BiasRatingFactory, SourceFactory

pytestmark = pytest.mark.django_db

BIAS_JS = Path(settings.BASE_DIR) / "static" / "js" / "bias.js"
AUTOCOMPLETE = reverse("admin:articles_source_autocomplete")


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def cite(article, *leans):
    return [ArticleSourceFactory(article=article, source=SourceFactory(bias=lean)).source for lean in leans]


def panel(html: str) -> str:
    start = html.index('<section class="module sources-bias" id="sources-bias"')
    return html[start : html.index("</section>", start)]


def bar(html: str) -> dict:
    """What the bias panel shows: rect x/width per side, its texts, and the leans it carries."""
    part = panel(html)
    rects = {
        side: (int(x), int(width))
        for side, x, width in re.findall(
            r'<rect class="bias-\w" id="sources-bias-(\w+)" x="(\d+)" y="0" width="(\d+)"', part
        )
    }
    unrated = re.search(
        r'<p class="sources-bias-unrated" id="sources-bias-unrated"( hidden)?>(.*?)</p>', part
    )
    method = re.search(r'id="sources-bias-method" data-method="(\w+)">(.*?)</p>', part)
    leans = re.search(r'<script id="sources-bias-leans" type="application/json">(.*?)</script>', part)
    return {
        "rects": rects,
        "figures": re.search(r'id="sources-bias-figures" aria-live="polite">(.*?)</p>', part).group(1),
        "unrated": None if unrated.group(1) else unrated.group(2),
        "method": (method.group(1), method.group(2)),
        "leans": json.loads(leans.group(1)),
    }


def messages_after(response, client) -> list[str]:
    assert response.status_code == 302, response.content.decode()[:3000]
    page = client.get(response["Location"])
    return [str(m) for m in page.context["messages"]]


# --- The same arithmetic and words in Python and in the browser ----------------------------------


def every_mix(most=5):
    """Every mix of up to `most` sources over left, lean left, center, lean right, right and unrated."""
    leans = [lean.value for lean in Source.Lean]
    for n in range(most + 1):
        yield from (list(mix) for mix in itertools.combinations_with_replacement(leans, n))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_script_splits_and_words_the_bar_exactly_like_the_server():
    mixes = list(every_mix())
    numbers = [["20", "60", "20"], ["0", "100", "0"], ["33", "33", "34"]]
    program = """
        const bar = require(process.argv[1]);
        const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const out = input.mixes.map((leans) => {
            const split = bar.splitFromLeans(leans);
            const unrated = split ? split.unrated : leans.length;
            return [split, bar.figuresText(split, leans.length), bar.unratedText(unrated)];
        });
        const methods = input.numbers.map((n) => bar.methodText("editorial", n))
            .concat([bar.methodText("incomplete", null), bar.methodText("computed", null)]);
        console.log(JSON.stringify({ out, methods }));
    """
    result = subprocess.run(
        ["node", "-e", program, str(BIAS_JS)],
        input=json.dumps({"mixes": mixes, "numbers": numbers}),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    from_js = json.loads(result.stdout)
    assert len(mixes) == len(from_js["out"]) == 462
    for leans, (js_split, js_figures, js_unrated) in zip(mixes, from_js["out"], strict=True):
        split = split_from_leans(leans)
        expected = None if split is None else dataclasses.asdict(split)
        assert js_split == expected, leans
        assert js_figures == figures_text(split, total=len(leans)), leans
        assert js_unrated == unrated_text(split.unrated if split else len(leans)), leans
    assert from_js["methods"] == [
        *(method_text("editorial", tuple(n)) for n in numbers),
        method_text("incomplete"),
        method_text("computed"),
    ]
    assert (
        from_js["methods"][0]
        == "The published bar uses your editorial numbers: Left 20% · Center 60% · Right 20%."
    )


# --- The bar in the article form -----------------------------------------------------------------


def test_the_form_shows_the_bias_of_the_saved_sources(editor_client):
    article = ArticleFactory(draft=True)
    outlets = cite(article, "left", "lean_left", "center", "unrated")
    html = editor_client.get(change_url(article)).content.decode()
    shown = bar(html)
    assert shown["rects"] == {"left": (0, 67), "center": (67, 33), "right": (100, 0)}
    assert shown["figures"] == "Left 67% · Center 33% · Right 0%, from 3 rated sources"
    assert shown["unrated"] == "1 source unrated"
    assert shown["method"] == ("computed", "The published bar is computed from these sources.")
    assert shown["leans"] == {str(o.pk): o.bias for o in outlets}
    # The panel sits right under the Sources inline, before the bias rating.
    assert html.index('id="article_sources-group"') < html.index('id="sources-bias"')
    assert html.index('id="sources-bias"') < html.index('id="bias_rating-group"')


def test_a_new_story_shows_an_empty_bar(editor_client):
    shown = bar(editor_client.get(ADD).content.decode())
    assert shown["rects"] == {"left": (0, 0), "center": (0, 0), "right": (0, 0)}
    assert shown["figures"] == "No sources chosen yet."
    assert shown["unrated"] is None  # hidden
    assert shown["leans"] == {}
    # The rating's fields are there, empty: readers would get the computed bar.
    assert shown["method"] == ("computed", "The published bar is computed from these sources.")


def test_only_unrated_sources_say_so(editor_client):
    article = ArticleFactory(draft=True)
    cite(article, "unrated", "unrated")
    shown = bar(editor_client.get(change_url(article)).content.decode())
    assert shown["figures"] == "None of the chosen sources has a rated lean."
    assert shown["unrated"] == "2 sources unrated"


def test_a_form_sent_back_with_errors_shows_the_sources_as_posted(editor_client):
    article = ArticleFactory(draft=True)
    saved = cite(article, "center")[0]
    right, other_right = SourceFactory(bias="right"), SourceFactory(bias="lean_right")
    rows = citations(saved, right, other_right)
    rows |= {
        "article_sources__INITIAL_FORMS": "1",
        "article_sources__0__id": str(article.article_sources.get().pk),
        "article_sources__0__DELETE": "on",  # the saved center outlet is being removed
    }
    response = browser_post(editor_client, change_url(article), title="", **rows)
    assert response.status_code == 200  # the empty title is refused
    shown = bar(response.content.decode())
    assert shown["figures"] == "Left 0% · Center 0% · Right 100%, from 2 rated sources"
    assert shown["leans"] == {str(right.pk): "right", str(other_right.pk): "lean_right"}
    assert article.article_sources.get().source == saved  # nothing was saved


@pytest.mark.parametrize(
    ("rated", "method"),
    [
        ({"left": 20, "center": 60, "right": 20, "method": "editorial"}, "editorial"),
        ({"left": 50, "center": 0, "right": 50, "method": "sources"}, "computed"),
    ],
)
def test_the_bar_says_which_numbers_readers_get(editor_client, rated, method):
    article = ArticleFactory(draft=True)
    cite(article, "left", "right")
    BiasRatingFactory(article=article, **rated)
    shown = bar(editor_client.get(change_url(article)).content.decode())
    expected = {
        "editorial": "The published bar uses your editorial numbers: Left 20% · Center 60% · Right 20%.",
        "computed": "The published bar is computed from these sources.",
    }
    assert shown["method"] == (method, expected[method])


def test_the_bar_follows_the_posted_method_and_numbers(editor_client):
    article = ArticleFactory(draft=True)
    cite(article, "left")
    posted = rating(method="editorial", left=30, center="", right=70)
    response = browser_post(editor_client, change_url(article), **posted)
    assert response.status_code == 200  # a missing number is refused
    shown = bar(response.content.decode())
    assert shown["method"] == (
        "incomplete",
        "Editorial rating chosen: type left, center and right (they must add up to 100).",
    )


def test_the_script_is_a_static_file_after_jquery_and_nothing_is_inline(editor_client):
    article = ArticleFactory(draft=True)
    cite(article, "left")
    html = editor_client.get(change_url(article)).content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    srcs = [re.search(r'src="([^"]+)"', tag).group(1) for tag in scripts if "src=" in tag]
    assert srcs.index("/static/js/bias.js") > srcs.index("/static/admin/js/jquery.init.js")
    for tag in scripts:
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


# --- The outlets' leans in the autocomplete ------------------------------------------------------


def test_the_outlet_picker_asks_our_autocomplete_which_returns_each_lean(editor_client, writer_client):
    SourceFactory(name="Guardian Daily", bias="lean_left")
    SourceFactory(name="Guardian Weekly", bias="unrated")
    SourceFactory(name="Telegraph", bias="right")
    html = editor_client.get(ADD).content.decode()
    assert f'data-ajax--url="{AUTOCOMPLETE}"' in html
    query = {"app_label": "articles", "model_name": "articlesource", "field_name": "source", "term": "guard"}
    for client in (editor_client, writer_client):
        response = client.get(AUTOCOMPLETE, query)
        assert response.status_code == 200
        results = response.json()["results"]
        assert [(r["text"], r["lean"]) for r in results] == [
            ("Guardian Daily", "lean_left"),
            ("Guardian Weekly", "unrated"),
        ]
        assert all(set(r) == {"id", "text", "lean"} for r in results)


def test_the_outlet_autocomplete_is_for_staff_and_for_outlets_only(client, editor_client):
    query = {"app_label": "articles", "model_name": "articlesource", "field_name": "source"}
    anonymous = client.get(AUTOCOMPLETE, query)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))
    other_model = {"app_label": "articles", "model_name": "article", "field_name": "category"}
    assert editor_client.get(AUTOCOMPLETE, other_model).status_code == 403
    assert editor_client.get(AUTOCOMPLETE, {"app_label": "articles"}).status_code == 403


# --- Warnings on save ----------------------------------------------------------------------------

ONE_SIDED = "consider adding other perspectives"


@pytest.mark.parametrize(
    ("leans", "expected"),
    [
        (
            ["left", "lean_left", "left"],
            ["All 3 rated sources lean left: consider adding other perspectives."],
        ),
        (
            ["right", "lean_right", "unrated"],
            [
                "All 2 rated sources lean right: consider adding other perspectives.",
                "1 source has no lean rating; the computed bar leaves it out.",
            ],
        ),
        (
            ["center", "unrated", "unrated"],
            [
                "The only rated source is rated center: consider adding other perspectives.",
                "2 sources have no lean rating; the computed bar leaves them out.",
            ],
        ),
        (
            ["left", "center", "unrated", "unrated"],
            ["2 sources have no lean rating; the computed bar leaves them out."],
        ),
        (["lean_left", "center", "right"], []),
        ([], []),
    ],
    ids=[
        "all-left",
        "right-and-unrated",
        "one-center-two-unrated",
        "balanced-with-unrated",
        "balanced",
        "none",
    ],
)
def test_saving_warns_of_one_sided_or_unrated_sources_without_blocking(editor_client, leans, expected):
    outlets = [SourceFactory(bias=lean) for lean in leans]
    response = browser_post(editor_client, ADD, **story(), **citations(*outlets))
    warnings = messages_after(response, editor_client)
    article = Article.objects.get(slug="talks-resume")  # saved all the same
    assert article.article_sources.count() == len(leans)
    assert [w for w in warnings if "perspectives" in w or "lean rating" in w] == expected


def test_the_warnings_follow_the_sources_as_saved_not_as_they_were(editor_client):
    article = ArticleFactory(draft=True)
    cite(article, "left", "left")
    right = SourceFactory(bias="right")
    rows = citations(right) | {"article_sources__TOTAL_FORMS": "3"}
    rows = {k.replace("__0__", "__2__"): v for k, v in rows.items()}
    response = browser_post(editor_client, change_url(article), **rows)
    warnings = messages_after(response, editor_client)
    assert not [w for w in warnings if ONE_SIDED in w]
    assert article.article_sources.count() == 3


# --- The "bias" filter of the story list ------------------------------------------------------


@pytest.fixture
def mixed_newsroom():
    stories = {}
    for title, leans in {
        "All left": ["left", "lean_left"],
        "Only center": ["center"],
        "Right with unrated": ["right", "unrated"],
        "Left and right": ["left", "right"],
        "Three sides and unrated": ["lean_left", "center", "lean_right", "unrated"],
        "Only unrated": ["unrated", "unrated"],
        "Nothing cited": [],
    }.items():
        stories[title] = ArticleFactory(title=title)
        cite(stories[title], *leans)
    return stories


def titles_listed(client, **params) -> set[str]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return {article.title for article in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        ("one_sided", {"All left", "Only center", "Right with unrated"}),
        ("balanced", {"Left and right", "Three sides and unrated"}),
        ("unrated", {"Right with unrated", "Three sides and unrated", "Only unrated"}),
        ("none", {"Nothing cited"}),
    ],
)
def test_the_story_list_filters_by_bias(editor_client, mixed_newsroom, bucket, expected):
    assert titles_listed(editor_client, bias=bucket) == expected


def test_the_bias_filter_is_offered_with_counts(editor_client, mixed_newsroom):
    html = editor_client.get(CHANGELIST).content.decode()
    assert "By bias of the sources" in html
    for facet in ("One-sided (3)", "Balanced (2)", "Has unrated sources (3)", "No sources (1)"):
        assert facet in html, facet
    # Combined with another filter, each condition narrows the list.
    ArticleFactory(title="Draft all left", draft=True)
    cite(Article.objects.get(title="Draft all left"), "left")
    assert titles_listed(editor_client, bias="one_sided", state="draft") == {"Draft all left"}


def test_the_bias_filter_costs_the_same_queries_whatever_the_number_of_stories(
    editor_client, mixed_newsroom, django_assert_num_queries
):
    with CaptureQueriesContext(connection) as few:
        assert len(titles_listed(editor_client, bias="one_sided")) == 3
    for article in ArticleFactory.create_batch(15):
        cite(article, "left", "unrated")
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(titles_listed(editor_client, bias="one_sided")) == 18


# --- Editorial or computed -----------------------------------------------------------------------


def test_switching_an_editorial_rating_to_computed_follows_the_sources(editor_client):
    article = ArticleFactory(draft=True)
    cite(article, "left", "lean_right", "unrated")
    BiasRatingFactory(article=article, left=10, center=80, right=10)
    response = browser_post(editor_client, change_url(article), bias_rating__0__method="sources")
    assert response.status_code == 302, response.content.decode()[:3000]
    rated = BiasRating.objects.get(article=article)
    assert (rated.method, rated.left, rated.center, rated.right, rated.unrated_sources) == (
        "sources",
        50,
        0,
        50,
        1,
    )
    # And it goes on following them: a center outlet is added through the form.
    center = SourceFactory(bias="center")
    rows = {k.replace("__0__", "__3__"): v for k, v in citations(center).items() if "TOTAL" not in k}
    response = browser_post(editor_client, change_url(article), article_sources__TOTAL_FORMS="4", **rows)
    assert response.status_code == 302
    rated.refresh_from_db()
    assert (rated.left, rated.center, rated.right) == (34, 33, 33)


def test_switching_a_computed_rating_to_editorial_keeps_the_numbers_as_sources_change(editor_client):
    article = ArticleFactory(draft=True)
    outlet = cite(article, "left", "right")[0]
    BiasRating.objects.create(article=article, left=50, center=0, right=50, method="sources")
    response = browser_post(
        editor_client,
        change_url(article),
        bias_rating__0__method="editorial",
        bias_rating__0__left="15",
        bias_rating__0__center="80",
        bias_rating__0__right="5",
    )
    assert response.status_code == 302, response.content.decode()[:3000]

    def numbers():
        rated = BiasRating.objects.get(article=article)
        return rated.method, rated.left, rated.center, rated.right

    assert numbers() == ("editorial", 15, 80, 5)
    # Sources added through the form later...
    rows = {k.replace("__0__", "__2__"): v for k, v in citations(SourceFactory(bias="right")).items()}
    response = browser_post(
        editor_client, change_url(article), **(rows | {"article_sources__TOTAL_FORMS": "3"})
    )
    assert response.status_code == 302
    assert article.article_sources.count() == 3
    assert numbers() == ("editorial", 15, 80, 5)
    # ...or an outlet's lean changed: the editor's numbers stay.
    url = reverse("admin:articles_source_change", args=[outlet.pk])
    assert browser_post(editor_client, url, form_id="source_form", bias="center").status_code == 302
    assert numbers() == ("editorial", 15, 80, 5)
    html = editor_client.get(change_url(article)).content.decode()
    assert bar(html)["method"][0] == "editorial"


def test_a_writer_viewing_a_live_story_sees_its_bias_read_only(writer_client):
    live = ArticleFactory()
    cite(live, "left", "unrated")
    BiasRatingFactory(article=live, left=20, center=60, right=20)
    html = writer_client.get(change_url(live)).content.decode()
    assert 'name="article_sources-0-source"' not in html  # read-only view
    shown = bar(html)
    assert shown["figures"] == "Left 100% · Center 0% · Right 0%, from 1 rated source"
    assert shown["unrated"] == "1 source unrated"
    assert shown["method"][0] == "editorial"


# --- One voice per outlet, wire copies left out --------------------------------------------------


def every_citation_mix(most=4):
    """Rows (outlet, lean, wire copy) over three outlets of fixed leans, repeats and copies included."""
    outlets = [("1", "left"), ("2", "right"), ("3", "unrated")]
    rows = [[outlet, lean, copy] for outlet, lean in outlets for copy in (False, True)]
    for n in range(most + 1):
        yield from (list(mix) for mix in itertools.product(rows, repeat=n))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_script_counts_one_voice_per_outlet_like_the_server():
    mixes = list(every_citation_mix())
    program = """
        const bar = require(process.argv[1]);
        const mixes = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(JSON.stringify(mixes.map((rows) => {
            const leans = bar.voices(rows);
            const copies = rows.filter((row) => row[2]).length;
            return [leans, bar.figuresText(bar.splitFromLeans(leans), leans.length, copies)];
        })));
    """
    result = subprocess.run(
        ["node", "-e", program, str(BIAS_JS)],
        input=json.dumps(mixes),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    from_js = json.loads(result.stdout)
    assert len(mixes) == len(from_js) == 1 + 6 + 36 + 216 + 1296
    for rows, (js_leans, js_figures) in zip(mixes, from_js, strict=True):
        leans = voices(tuple(row) for row in rows)
        assert js_leans == leans, rows
        copies = sum(copy for _, _, copy in rows)
        assert js_figures == figures_text(split_from_leans(leans), total=len(leans), copies=copies), rows
    assert from_js[mixes.index([["2", "right", True]])][1] == (
        "Only wire copies chosen: add the originals they copy."
    )


def test_the_sources_rows_show_and_save_the_wire_copy_box(editor_client):
    article = ArticleFactory(draft=True)
    html = editor_client.get(change_url(article)).content.decode()
    assert 'name="article_sources-0-wire_copy"' in html
    assert 'type="checkbox"' in html[html.index('name="article_sources-0-wire_copy"') - 200 :]
    assert "Repeats another source&#x27;s text (a wire copy)" in html  # its help text, in the header
    original, copy = SourceFactory(bias="left"), SourceFactory(bias="right")
    rows = citations(original, copy) | {"article_sources__1__wire_copy": "on"}
    response = browser_post(editor_client, change_url(article), **rows)
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = list(article.article_sources.values_list("source", "wire_copy"))
    assert saved == [(original.pk, False), (copy.pk, True)]
    rated = BiasRating.objects.get(article=article)
    assert (rated.method, rated.left, rated.right) == ("sources", 100, 0)
    # Unticked again, the copy is a voice of its own once more.
    response = browser_post(editor_client, change_url(article), article_sources__1__wire_copy=None)
    assert response.status_code == 302
    assert not article.article_sources.filter(wire_copy=True).exists()
    rated.refresh_from_db()
    assert (rated.left, rated.right) == (50, 50)


def test_the_bar_counts_each_outlet_once_and_leaves_wire_copies_out(editor_client):
    article = ArticleFactory(draft=True)
    left, right, unrated = (SourceFactory(bias=lean) for lean in ("left", "right", "unrated"))
    for outlet, copy in [(left, False), (left, False), (right, False), (unrated, False), (unrated, False)]:
        ArticleSourceFactory(article=article, source=outlet, wire_copy=copy)
    ArticleSourceFactory(article=article, source=SourceFactory(bias="center"), wire_copy=True)
    ArticleSourceFactory(article=article, source=right, wire_copy=True)
    shown = bar(editor_client.get(change_url(article)).content.decode())
    assert shown["rects"] == {"left": (0, 50), "center": (50, 0), "right": (50, 50)}
    assert shown["figures"] == "Left 50% · Center 0% · Right 50%, from 2 rated sources"
    assert shown["unrated"] == "1 source unrated"
    # The bar shows what saving computes.
    assert browser_post(editor_client, change_url(article)).status_code == 302
    rated = BiasRating.objects.get(article=article)
    assert (rated.left, rated.center, rated.right, rated.unrated_sources) == (50, 0, 50, 1)


def test_the_bar_of_a_form_sent_back_follows_the_posted_wire_copy_boxes(editor_client):
    article = ArticleFactory(draft=True)
    left, right = SourceFactory(bias="left"), SourceFactory(bias="right")
    rows = citations(left, right, left) | {"article_sources__1__wire_copy": "on"}
    response = browser_post(editor_client, change_url(article), title="", **rows)
    assert response.status_code == 200  # the empty title is refused
    shown = bar(response.content.decode())
    assert shown["figures"] == "Left 100% · Center 0% · Right 0%, from 1 rated source"
    assert shown["leans"] == {str(left.pk): "left", str(right.pk): "right"}
    only_copies = citations(right) | {"article_sources__0__wire_copy": "on"}
    response = browser_post(editor_client, change_url(article), title="", **only_copies)
    shown = bar(response.content.decode())
    assert shown["figures"] == "Only wire copies chosen: add the originals they copy."
    assert shown["rects"] == {"left": (0, 0), "center": (0, 0), "right": (0, 0)}
    assert shown["unrated"] is None
    assert not article.article_sources.exists()  # nothing was saved


def test_a_read_only_bar_leaves_the_saved_wire_copies_out(writer_client):
    live = ArticleFactory()
    left = cite(live, "left")[0]
    ArticleSourceFactory(article=live, source=left)
    ArticleSourceFactory(article=live, source=SourceFactory(bias="right"), wire_copy=True)
    shown = bar(writer_client.get(change_url(live)).content.decode())
    assert shown["figures"] == "Left 100% · Center 0% · Right 0%, from 1 rated source"


ONLY_LEFT = "The only rated source leans left: consider adding other perspectives."


@pytest.mark.parametrize(
    ("cited", "expected"),
    [
        ([("left", False), ("left", False)], [ONLY_LEFT]),
        ([("left", False), ("right", True)], [ONLY_LEFT]),
        ([("left", False), ("unrated", True)], [ONLY_LEFT]),  # and no word of an unrated source
        ([("left", False), ("right", False), ("right", True)], []),
    ],
    ids=["same-outlet-twice", "copy-of-the-other-side", "unrated-copy", "copy-beside-its-original"],
)
def test_the_warnings_count_each_outlet_once_and_leave_wire_copies_out(editor_client, cited, expected):
    outlets = {lean: SourceFactory(bias=lean) for lean in ("left", "right", "unrated")}
    rows = citations(*(outlets[lean] for lean, _ in cited))
    rows |= {f"article_sources__{i}__wire_copy": "on" for i, (_, copy) in enumerate(cited) if copy}
    response = browser_post(editor_client, ADD, **story(), **rows)
    warnings = messages_after(response, editor_client)
    article = Article.objects.get(slug="talks-resume")
    assert list(article.article_sources.values_list("wire_copy", flat=True)) == [copy for _, copy in cited]
    assert [w for w in warnings if "perspectives" in w or "lean rating" in w] == expected


def test_the_bias_filter_leaves_wire_copies_out(editor_client):
    left_with_copies = ArticleFactory(title="Left with copies")
    cite(left_with_copies, "left")
    for lean in ("right", "unrated"):
        ArticleSourceFactory(article=left_with_copies, source=SourceFactory(bias=lean), wire_copy=True)
    only_copies = ArticleFactory(title="Only copies")
    ArticleSourceFactory(article=only_copies, source=SourceFactory(bias="left"), wire_copy=True)
    assert titles_listed(editor_client, bias="one_sided") == {"Left with copies"}
    assert titles_listed(editor_client, bias="balanced") == set()
    assert titles_listed(editor_client, bias="unrated") == set()
    assert titles_listed(editor_client, bias="none") == set()
