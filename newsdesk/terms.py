"""Words of a piece as the grouping counts them: tokens lower-cased and lightly stemmed, function
words and generic news words left out, and the words that look like names or figures marked.

Offline and dependency-free on purpose: a plural folded to its singular and a possessive dropped
is all the stemming the grouping needs (pieces about one event share their names, places and
figures far more than their verb forms).
"""

import re
from dataclasses import dataclass, field

# A word: letters or digits, with inner apostrophes, dots or commas kept ("O'Neill", "4.5", "1,200").
WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*")
# What comes before a word that opens a sentence: a full stop (a closing quote may follow it), or
# an opening quote ('"Never again," Moira Banks said': Never opens one, Moira does not).
SENTENCE_END = re.compile(r"(?:[.!?:;][\"”’)]?\s*|\s[\"“‘(]\s*)$")
MAX_LENGTH = 64  # Term.text

# Function words, and words every news report uses whatever it is about (reporting verbs, time
# words, titles): left out, because they would make any two pieces look alike.
_STOPWORDS = """
    a about above after again against ago all almost also although am among an and another any
    are around as at be because been before being below between both but by can could did do does
    doing done down during each either else even ever every few for from further had has have
    having he her here hers herself him himself his how however i if in into is it its itself just
    least less like many may me might more most much must my myself near nearly neither no nor not
    now of off often on once one only onto or other others our ours ourselves out over own per
    perhaps quite rather same several she should since so some still such than that the their
    theirs them themselves then there these they this those though through thus to too toward
    towards under until up upon us very via was we were what whatever when where whether which
    while who whom whose why will with within without would yet you your yours yourself
    two three four five six seven eight nine ten first second third last next new
    said say says saying told tell tells according added adds asked report reports reported
    reporting statement statements announced announce announces spokesperson spokesman
    spokeswoman official officials source sources news press
    today yesterday tomorrow tonight morning afternoon evening night week weeks weekend day days
    month months year years time times hour hours minute minutes earlier later recent recently
    monday tuesday wednesday thursday friday saturday sunday
    january february march april june july august september october november december
    mr mrs ms dr percent cent people get got make made take took go went come came put set
"""
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass
class Words:
    """The terms of one text in order, and those of them that looked like names or figures."""

    terms: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


def term(word: str) -> str:
    """One word as a term: lower-case, possessive and plural folded, figures without separators."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if word[:1].isdigit():
        return word.replace(",", "")[:MAX_LENGTH]
    word = word.replace("'", "").replace(".", "")
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word[:MAX_LENGTH]


def is_figure(word: str) -> bool:
    """A number precise enough to tell events apart (1,200 or 4.5), not a count like 3."""
    digits = sum(ch.isdigit() for ch in word)
    return digits >= 2 and word[:1].isdigit()


def words(text: str, *, limit: int | None = None) -> Words:
    """The terms of `text` (at most `limit` words read), with those written like names: a
    capital letter not opening a sentence, an acronym, or a precise figure."""
    found = Words()
    previous_end = 0
    for count, match in enumerate(WORD.finditer(text)):
        if limit is not None and count >= limit:
            break
        raw = match.group()
        gap = text[previous_end : match.start()]
        before = text[max(0, previous_end - 1) : match.start()]
        opens_sentence = count == 0 or "\n" in gap or bool(SENTENCE_END.search(before))
        previous_end = match.end()
        t = term(raw)
        if len(t) < 2 or t in STOPWORDS or raw.lower() in STOPWORDS:
            continue
        found.terms.append(t)
        acronym = raw.isupper() and len(raw) >= 2
        if is_figure(raw) or acronym or (raw[:1].isupper() and not opens_sentence):
            found.names.add(t)
    return found
