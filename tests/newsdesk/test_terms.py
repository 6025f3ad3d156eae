"""The words of a piece as the grouping counts them."""

from newsdesk.terms import STOPWORDS, term, words


def test_terms_fold_case_possessives_and_plurals_and_keep_figures_whole():
    assert [term(w) for w in ["Storm's", "Homes", "cities", "class", "bus", "1,200", "4.5"]] == [
        "storm",
        "home",
        "city",
        "class",
        "bus",
        "1200",
        "4.5",
    ]


def test_function_words_and_generic_news_words_are_left_out():
    found = words("The minister said on Tuesday that it does not matter, officials reported.")
    assert found.terms == ["minister", "matter"]
    assert {"said", "tuesday", "does", "official"} <= STOPWORDS


def test_names_acronyms_and_precise_figures_are_marked_but_not_sentence_openers():
    found = words(
        'Storms hit Port Calder. Gusts reached 137 km/h, the NWS said. "Never again," Moira Banks said.'
    )
    assert found.terms == [
        "storm",
        "hit",
        "port",
        "calder",
        "gust",
        "reached",
        "137",
        "km",
        "nws",
        "never",
        "moira",
        "bank",
    ]
    assert found.names == {"port", "calder", "137", "nws", "moira", "bank"}


def test_the_limit_counts_words_read():
    assert words("Alpha beta gamma delta", limit=2).terms == ["alpha", "beta"]
