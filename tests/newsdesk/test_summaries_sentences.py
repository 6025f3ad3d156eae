"""The summaries' sentence splitter on what news copy throws at it, and the Markdown the summaries
are written in."""

import markdown
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsdesk.summaries.material import markdown_paragraphs
from newsdesk.summaries.sentences import sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith met Dr. Jones and Sen. Warren. They spoke for an hour.",
            ["Mr. Smith met Dr. Jones and Sen. Warren.", "They spoke for an hour."],
        ),
        (
            "The U.S. Senate voted 52-48 on Friday. Talks with the U.K. government resume in May.",
            ["The U.S. Senate voted 52-48 on Friday.", "Talks with the U.K. government resume in May."],
        ),
        (
            "Troops left the U.S. The withdrawal took a week.",
            ["Troops left the U.S.", "The withdrawal took a week."],
        ),
        (
            "Inflation rose 3.5 percent in March. Prices fell 0.2%. Shares were worth $1.25 each.",
            ["Inflation rose 3.5 percent in March.", "Prices fell 0.2%.", "Shares were worth $1.25 each."],
        ),
        (
            '"We will not give up," she said. "Never." The crowd cheered.',
            ['"We will not give up," she said.', '"Never."', "The crowd cheered."],
        ),
        (
            "He called it “a disgrace.” Others disagreed. “Why now?” asked one.",
            ["He called it “a disgrace.”", "Others disagreed.", "“Why now?” asked one."],
        ),
        (
            "J. K. Rowling spoke at the event. John F. Kennedy Airport was closed.",
            ["J. K. Rowling spoke at the event.", "John F. Kennedy Airport was closed."],
        ),
        (
            "They fell back on Plan B. The team moved on.",
            ["They fell back on Plan B.", "The team moved on."],
        ),
        (
            "The meeting starts at 9 a.m. on Monday. It ends at 5 p.m. The room is booked.",
            ["The meeting starts at 9 a.m. on Monday.", "It ends at 5 p.m.", "The room is booked."],
        ),
        (
            "Apple Inc. reported results on Jan. 5. The firm said No. 10 had been told.",
            ["Apple Inc. reported results on Jan. 5.", "The firm said No. 10 had been told."],
        ),
        (
            "Is it over? Nobody knows! Wait... Then it began.",
            ["Is it over?", "Nobody knows!", "Wait...", "Then it began."],
        ),
        ("See example.com/a.b for details. Then call.", ["See example.com/a.b for details.", "Then call."]),
        (
            "A heading with no stop\n\nThe first paragraph.\nIt goes on.",
            ["A heading with no stop", "The first paragraph.", "It goes on."],
        ),
        ("  ", []),
    ],
)
def test_sentences(text, expected):
    assert sentences(text) == expected


@given(
    st.lists(
        st.sampled_from(["Mr.", "U.S.", "3.5", "said", "The", "end.", "\n\n", "“Yes.”", "?"]), max_size=30
    )
)
def test_sentences_keep_every_word_in_order(parts):
    text = " ".join(parts)
    assert " ".join(sentences(text)).split() == text.split()


def test_markdown_paragraphs_show_as_written():
    text = markdown_paragraphs(
        [
            ["2026. A year of *stars*, a_b and [links](x) <b>bold</b>."],
            ["# Not a heading"],
            ["- not a list", "More."],
            ["> not a quote"],
        ]
    )
    html = markdown.markdown(text)
    assert html == (
        "<p>2026. A year of *stars*, a_b and [links](x) &lt;b&gt;bold&lt;/b&gt;.</p>\n"
        "<p># Not a heading</p>\n<p>- not a list More.</p>\n<p>&gt; not a quote</p>"
    )
