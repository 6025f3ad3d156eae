"""Splitting news text into sentences with nothing to download: a boundary is a full stop, question
or exclamation mark (with any closing quote or bracket) followed by space and a capital, a digit or
an opening quote, unless the word before it is an abbreviation (Mr., Gen., Jan.), an initial
(J. K. Rowling) or an initialism such as U.S. going on into a name ("the U.S. Senate").

Written here rather than taken from NLTK's punkt (its model is a download) or pysbd (a dependency
whose rules cover many languages and genres): news copy in English needs the few rules below, each
pinned by a test (tests/newsdesk/test_summaries_sentences.py)."""

import re

# Titles and words that are never last in a sentence: the next word always belongs to them.
_TITLES = """
    mr mrs ms mx dr prof sen rep gov gen col lt sgt capt cmdr adm maj cpl pvt supt insp det
    rev fr sr jr st mt ft hon pres amb messrs mme mlle
"""
TITLES = frozenset(_TITLES.split())
# Abbreviations that usually sit inside a sentence but may end one ("... and Co. The firm ...").
_INNER = """
    jan feb mar apr jun jul aug sep sept oct nov dec no nos vs etc approx dept est fig inc ltd co
    corp bros assn univ ave blvd rd cf al vol pp ca
"""
INNER = frozenset(_INNER.split())
# Capitalised words that start sentences far more often than they follow an abbreviation, so
# "... in the U.S. The talks ..." is split while "the U.S. Senate" is not.
_STARTERS = """
    a an the this that these those there it its he she they we i you his her their our my
    but and or so yet if when while after before as at in on for from by with to of since
    however meanwhile still then now also although though because what who where why how
    no not some many most all both each one two three officials police
"""
STARTERS = frozenset(_STARTERS.split())

# A possible end: the mark(s), any closing quotes or brackets, the space after, and what starts the
# next sentence (a capital letter, a digit or an opening quote or bracket).
BOUNDARY = re.compile(r"""([.!?…]+)(["'”’»)\]]*)(\s+)(?=["'“‘«(\[]?[A-Z0-9À-Ý])""")
# The word just before a full stop: letters and inner full stops ("U.S", "a.m", "Jan").
WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
NEXT_WORD = re.compile(r"""["'“‘«(\[]?([A-Za-z0-9À-ÿ]+)""")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\r\n\s*\r\n")
SPACES = re.compile(r"\s+")


def sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, each with its spaces collapsed. A blank line always ends
    a sentence (a heading or caption is a sentence of its own)."""
    found = []
    for block in PARAGRAPH_BREAK.split(text):
        found.extend(_block_sentences(SPACES.sub(" ", block).strip()))
    return found


def _block_sentences(block: str) -> list[str]:
    found, start = [], 0
    for match in BOUNDARY.finditer(block):
        if _is_end(block, match):
            found.append(block[start : match.start(3)].strip())
            start = match.end()
    rest = block[start:].strip()
    if rest:
        found.append(rest)
    return [s for s in found if s]


def _is_end(block: str, match: re.Match) -> bool:
    if match.group(1) != "." or match.group(2):
        # ?, !, an ellipsis, or a quote or bracket closed after the stop: the sentence is over.
        return True
    before = WORD_BEFORE.search(block, 0, match.start(1))
    if not before:
        return True  # a number or a closing bracket before the stop: "rose 4.5%." ends
    word = before.group(1)
    following = NEXT_WORD.match(block, match.end())
    next_word = following.group(1) if following else ""
    next_is_starter = next_word.lower() in STARTERS
    lower = word.lower().rstrip(".")
    if lower in TITLES:
        return False
    if len(word) == 1 and word.isupper():
        # An initial ("J. K. Rowling"), unless a common opening word follows ("... Plan B. The ...").
        return next_is_starter
    if "." in word:
        # An initialism: U.S., U.K., a.m., e.g.: ends only before a word that opens sentences.
        return next_is_starter
    if lower in INNER:
        return next_is_starter
    return True
