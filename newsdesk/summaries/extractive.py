"""The offline summary: sentences chosen from the outlets' own pieces, in the reference page's
shape (a lead paragraph, then two to four short paragraphs, about 120-220 words).

Each sentence is weighed by how central it is to the candidate: the cosine between its TF-IDF
vector and the pieces' centroid (every original piece and headline weighing the same, so one long
piece does not set the story's terms), raised for sentences near the top of their piece (news
writing puts what matters first). The lead is the best of the pieces' opening sentences that
report (no question, quotation or word to the reader; the first reports and sentences dated to a
day preferred); the rest are picked greedily (maximal marginal relevance): a sentence too close
to one already chosen is dropped, and each further sentence from an outlet already quoted counts
for less, so the summary draws on several outlets when they exist. Body sentences are grouped by
piece in the piece's own order, pieces in order of publication, so each paragraph reads as its
reporting did."""

import math
import re
from collections import Counter
from dataclasses import dataclass

from newsdesk import terms as vocabulary
from newsdesk.models import Piece

from .material import Draft, copies_by_original, markdown_paragraphs, originals, voice
from .sentences import sentences

WORDS_MAX = 220
WORDS_ENOUGH = 180  # stop choosing once this many words are in
SENTENCE_WORDS = (6, 55)  # shorter is a caption or a dateline, longer a run-on the reader trips on
LEAD_WORDS = (12, 40)  # the reference page's lead is about 30 words
SENTENCES_PER_PIECE = 30  # the top of a piece holds its news; bounds the work for long features
PIECES_MAX = 40  # the newest originals of a very large candidate
REDUNDANT = 0.3  # a sentence this close (cosine of TF-IDF terms) to one chosen repeats it (tuned by eye)
LEAD_BOOST = 0.5  # the first sentence of a piece counts 1.5x, the second 1.25x, ...
EARLY_LEAD = 0.25  # a lead from the first piece counts 1.25x, from the last 1x: first reports tell the event
REPEAT_OUTLET = 0.5  # each sentence already taken from an outlet divides its next by 1 + this
BODY_PARAGRAPHS = (2, 4)

# A sentence leaning on the one before it in its piece ("He said ...", "But ...", "On Sunday she
# ...") reads wrongly out of it: a pronoun or connective among its first three words.
_LEANS_BACK = """
    he she him her his hers they them their it its this these those but and also however
    meanwhile still yet so then there such
"""
LEANS_BACK = frozenset(_LEANS_BACK.split())
# A lead reports: it is no question, quotation or word to the reader ("Here is what we know", "If
# you were booked ..."), and a sentence dated to a day ("on Tuesday") is likelier the news itself.
NOT_A_LEAD = re.compile(
    r"""^(?:["'“‘]|(?:Here|If|What)\b)|\b(?:[Yy]ou|[Yy]our|[Ww]e|[Oo]ur|us)\b|\?["'”’]?$"""
)
DATED = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|overnight|tonight)\b", re.IGNORECASE
)
DATED_LEAD = 0.2  # a dated lead counts 1.2x
ENDS_LIKE_SENTENCE = re.compile(r"""[.!?…]["'”’)\]]*$""")
NORMAL = re.compile(r"[^a-z0-9]+")


@dataclass
class Sentence:
    text: str
    piece: Piece
    position: int
    words: int
    vector: dict[str, float]
    pieces: set[int]  # every piece this sentence is found in (its own, copies, other outlets' same words)
    score: float = 0.0


def draft(pieces: list[Piece]) -> Draft:
    """The extractive summary of `pieces` (a candidate's, as material.candidate_pieces gives them).
    Raises ValueError when there is nothing to summarise (no piece, or no text nor headline)."""
    if not pieces:
        raise ValueError("A story candidate with no pieces has nothing to summarise.")
    voices = originals(pieces)[-PIECES_MAX:]
    found = _sentences(voices, copies_by_original(pieces))
    if not found:
        raise ValueError("The candidate's pieces have no text to summarise.")
    _weigh(found, voices)
    lead, body = _choose(found)
    paragraphs = [[lead], *_paragraphs(body)]
    drawn = {pk for s in found for pk in s.pieces}
    return Draft(
        text=markdown_paragraphs([[s.text for s in paragraph] for paragraph in paragraphs]),
        provenance=[{"sentence": s.text, "pieces": sorted(s.pieces)} for p in paragraphs for s in p],
        pieces=[p for p in pieces if p.pk in drawn],
    )


def terms(text: str) -> Counter:
    """The content words of `text` as the grouping counts them (newsdesk.terms), with their counts."""
    return Counter(vocabulary.words(text).terms)


def _sentences(voices: list[Piece], copies: dict[int, list[int]]) -> list[Sentence]:
    """Every usable sentence of the voices' texts, each once: the same words in two pieces become
    one sentence found in both. With no usable sentence anywhere, the headlines stand in."""
    by_words: dict[str, Sentence] = {}
    for piece in voices:
        for position, text in enumerate(sentences(piece.text)[:SENTENCES_PER_PIECE]):
            words = len(text.split())
            if not SENTENCE_WORDS[0] <= words <= SENTENCE_WORDS[1] or not ENDS_LIKE_SENTENCE.search(text):
                continue
            if position and LEANS_BACK.intersection(NORMAL.sub(" ", text.lower()).split()[:3]):
                continue
            key = NORMAL.sub(" ", text.lower()).strip()
            if key in by_words:
                by_words[key].pieces |= {piece.pk, *copies.get(piece.pk, ())}
                continue
            by_words[key] = Sentence(text, piece, position, words, {}, {piece.pk, *copies.get(piece.pk, ())})
    if by_words:
        return list(by_words.values())
    return [
        Sentence(p.title.strip(), p, 0, len(p.title.split()), {}, {p.pk, *copies.get(p.pk, ())})
        for p in voices
        if p.title.strip()
    ]


def _weigh(found: list[Sentence], voices: list[Piece]) -> None:
    """Each sentence's TF-IDF vector and score: centrality to the pieces times the lead boost."""
    counts = [terms(s.text) for s in found]
    frequency = Counter(term for count in counts for term in count)
    idf = {term: math.log((len(found) + 1) / (n + 1)) + 1 for term, n in frequency.items()}
    for sentence, count in zip(found, counts, strict=True):
        sentence.vector = _unit({term: n * idf[term] for term, n in count.items()})
    centroid: Counter = Counter()
    for piece in voices:
        mine = [s.vector for s in found if s.piece.pk == piece.pk]
        headline = _unit({t: n * idf.get(t, 1.0) for t, n in terms(piece.title).items()})
        for part in (_unit(_sum(mine)), headline):
            centroid.update(part)
    centroid_unit = _unit(centroid)
    for sentence in found:
        centrality = _cosine(sentence.vector, centroid_unit)
        sentence.score = centrality * (1 + LEAD_BOOST / (1 + sentence.position))


def _choose(found: list[Sentence]) -> tuple[Sentence, list[Sentence]]:
    """The lead and the body sentences, in the order they were chosen (most telling first)."""
    openers = [
        s
        for s in found
        if s.position <= 1 and LEAD_WORDS[0] <= s.words <= LEAD_WORDS[1] and not NOT_A_LEAD.search(s.text)
    ]
    order = sorted({(s.piece.published_at, s.piece.pk) for s in found})
    earliness = {pk: 1 - n / max(1, len(order) - 1) for n, (_, pk) in enumerate(order)}

    def as_lead(s: Sentence) -> float:
        dated = DATED_LEAD if DATED.search(s.text) else 0.0
        return s.score * (1 + EARLY_LEAD * earliness[s.piece.pk]) * (1 + dated)

    lead = max(openers or found, key=as_lead)
    chosen, taken = [lead], Counter({voice(lead.piece): 1})
    words = lead.words
    others_exist = any(voice(s.piece) != voice(lead.piece) for s in found)
    while words < WORDS_ENOUGH:
        best, best_value = None, 0.0
        for sentence in found:
            if sentence in chosen or words + sentence.words > WORDS_MAX:
                continue
            overlap = max(_cosine(sentence.vector, c.vector) for c in chosen)
            if overlap >= REDUNDANT:
                continue
            if len(chosen) == 1 and others_exist and voice(sentence.piece) == voice(lead.piece):
                continue  # the second sentence brings a second outlet when there is one
            value = sentence.score * (1 - overlap) / (1 + REPEAT_OUTLET * taken[voice(sentence.piece)])
            if value > best_value:
                best, best_value = sentence, value
        if best is None:
            if len(chosen) == 1 and others_exist:
                others_exist = False  # no other outlet has a usable sentence: take the lead's own
                continue
            break
        chosen.append(best)
        taken[voice(best.piece)] += 1
        words += best.words
    return lead, chosen[1:]


def _paragraphs(body: list[Sentence]) -> list[list[Sentence]]:
    """The body in two to four paragraphs, a piece's sentences together in the piece's order and
    pieces in order of publication (figures that changed as the story went on read in the order
    they were reported): the shortest neighbours merged while there are too many, the longest
    split while there are too few."""
    paragraphs: list[list[Sentence]] = []
    for sentence in sorted(body, key=lambda s: (s.piece.published_at, s.piece.pk, s.position)):
        if paragraphs and paragraphs[-1][-1].piece.pk == sentence.piece.pk:
            paragraphs[-1].append(sentence)
        else:
            paragraphs.append([sentence])
    while len(paragraphs) > BODY_PARAGRAPHS[1]:
        at = min(range(len(paragraphs) - 1), key=lambda i: _words(paragraphs[i] + paragraphs[i + 1]))
        paragraphs[at : at + 2] = [paragraphs[at] + paragraphs[at + 1]]
    while len(paragraphs) < BODY_PARAGRAPHS[0] and any(len(p) > 1 for p in paragraphs):
        at = max(range(len(paragraphs)), key=lambda i: (len(paragraphs[i]) > 1, _words(paragraphs[i])))
        half = len(paragraphs[at]) // 2
        paragraphs[at : at + 1] = [paragraphs[at][:half], paragraphs[at][half:]]
    return paragraphs


def _words(sentences: list[Sentence]) -> int:
    return sum(s.words for s in sentences)


def _sum(vectors: list[dict[str, float]]) -> Counter:
    total: Counter = Counter()
    for vector in vectors:
        total.update(vector)
    return total


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {t: v / norm for t, v in vector.items()} if norm else {}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())
