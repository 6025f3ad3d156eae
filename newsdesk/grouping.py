"""Grouping pieces into story candidates, one piece at a time.

A piece becomes a vector of weighted terms (TF-IDF): the headline's words count HEADLINE_WEIGHT
times, the lead's once; words written like names or precise figures weigh NAME_BOOST times more;
the inverse document frequency comes from the Term table, counted as pieces arrive. A candidate
keeps the sum of its pieces' vectors (its centroid, cut to its heaviest terms) and indexes its
heaviest terms in CandidateTerm with its last publication time. A new piece looks up only the
candidates sharing one of its own heaviest terms and active within WINDOW of it, compares itself
with their centroids (cosine), and joins the closest one at or above THRESHOLD, or starts a new
candidate. The candidate it joined (or started) then looks up, the same way with its own index
terms, the candidates of one piece its grown centroid now reaches at THRESHOLD, and gathers their
pieces: each would join it if it arrived now. So the queries and the rows read for one piece
depend on how much news there is around its time, never on how many pieces are stored
(tests/newsdesk/test_grouping.py measures it).

Why the gathering: the order pieces arrive in mattered. Grouped in publishing order the corpus
scored F1 0.962; read outlet by outlet (a first fetch of many feeds, each newest first) 0.920, and
shuffled 0.90 to 0.94. Most of the loss was recall: a piece read before the reports it matches (a
follow-up's angle, one outlet's whole feed before the others') started a candidate that the later
reports, compared one by one, did not reach; their candidate did once grown, but nothing looked
again. The document frequencies were not the cause (grouping every order with the whole corpus's
frequencies scored no better), nor the shortlist or the cut centroid (unbounded, under 0.01 F1).
With the gathering: 0.970 in publishing order, 0.939 outlet by outlet, 0.922 to 0.950 in three
shuffles (tests/newsdesk/test_grouping_orders.py). Only lone pieces are gathered, never a grown
candidate (merging two is an editor's call), nor one an editor split off or drafted
(Candidate.pieces_chosen).
What is left is mostly precision on close neighbours read early, before the frequencies know
which words are common (two central banks cutting rates a day apart, read shuffled, can share one
candidate): an editor splits them.

The parameters are round numbers chosen on the labelled corpus (newsdesk/demo/corpus), kept few
on purpose so they hold beyond it: with NAME_BOOST 3, every THRESHOLD from 0.2 to 0.3, IDF_PRIOR
from 100 to 1,000 and HEADLINE_WEIGHT 2 or 3 scored a B-cubed F1 of 0.91 or more on its 320
pieces in publishing order; 0.25 sits in the middle (higher splits events told in different words,
lower joins neighbours such as two storms in one week), and with the gathering each of 0.22,
0.25 and 0.28, and IDF_PRIOR 100 to 1,000, kept every order tried (publishing, the ten outlets'
feeds in ten orders, eight shuffles) at 0.91 or more. The gathering reuses THRESHOLD: no new one.
"""

import math
from collections import Counter
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, F, Sum, When

from articles.bias import BiasSplit, split_from_leans
from articles.models import Source

from . import terms
from .models import Candidate, CandidateTerm, Piece, Term

HEADLINE_WEIGHT = 3  # a headline says what the event is; the lead says it again in more words
LEAD_WORDS = 120  # the lead: past it, articles wander into background shared with other events
NAME_BOOST = 3  # names, places and figures tell events apart better than common words
PIECE_TERMS = 40  # a piece's vector: its heaviest terms only (the rest is noise for grouping)
LOOKUP_TERMS = 8  # the piece's terms looked up in the index
CENTROID_TERMS = 60  # a candidate's centroid keeps this many terms
INDEX_TERMS = 20  # ...and indexes this many of them
SHORTLIST = 20  # candidates compared with a piece at most (those sharing the most weight)
WINDOW = timedelta(hours=72)  # an event's pieces come within about three days of each other
THRESHOLD = 0.25  # the cosine at which a piece reports the same event as a candidate
# Document frequencies from a few pieces say little (with two pieces stored, the words they share
# look the most common): the IDF counts this many more pieces, as if seen without the terms.
IDF_PRIOR = 300

# The empty term occurs in every piece: its row counts the pieces, the N of the IDF.
ALL_PIECES = ""


def group_piece(piece: Piece) -> Candidate:
    """Put a stored piece into the candidate reporting the same event, or a new one; return it.

    A piece already in a candidate stays there; a wire copy (copy_of set) joins its original's.
    """
    if piece.candidate_id:
        return piece.candidate
    with transaction.atomic():
        _take_turn()
        counts, names = _counts(piece.title, piece.text)
        df, total = _frequencies(counts.keys(), counting=True)
        vector = _vector(counts, names, df, total)
        _count(counts.keys())
        candidate = None
        if piece.copy_of_id:
            candidate = Candidate.objects.filter(pieces=piece.copy_of_id).first()
        if candidate is None:
            candidate = _closest(vector, piece.published_at)
        if candidate is None:
            candidate = Candidate.objects.create(
                title=piece.title[:500],
                first_published_at=piece.published_at,
                last_published_at=piece.published_at,
            )
        else:
            candidate = Candidate.objects.select_for_update().get(pk=candidate.pk)
        piece.candidate = candidate
        piece.save(update_fields=["candidate"])
        centroid = Counter(candidate.centroid)
        centroid.update(vector)
        candidate.centroid = _top(centroid, CENTROID_TERMS)
        closer = _headline_score(piece.title, candidate.centroid) > _headline_score(
            candidate.title, candidate.centroid
        )
        if closer:
            candidate.title = piece.title[:500]
        candidate.first_published_at = min(candidate.first_published_at, piece.published_at)
        candidate.last_published_at = max(candidate.last_published_at, piece.published_at)
        _singles_gather(candidate, piece.published_at)
        _store(candidate)
    return candidate


def candidate_refresh(candidate: Candidate) -> None:
    """Recompute a candidate's centroid, index, title, dates and outlet count from its pieces
    (after a merge, a split or copies marked). A candidate left without pieces is left as it is."""
    pieces = list(candidate.pieces.order_by("published_at", "pk"))
    if not pieces:
        return
    read = [(piece, *_counts(piece.title, piece.text)) for piece in pieces]
    df, total = _frequencies(set().union(*(counts.keys() for _, counts, _ in read)), counting=False)
    centroid = Counter()
    for _, counts, names in read:
        centroid.update(_vector(counts, names, df, total))
    candidate.centroid = _top(centroid, CENTROID_TERMS)
    originals = [piece for piece in pieces if piece.copy_of_id is None] or pieces
    # max() keeps the first of equals: the earliest original headline wins a tie.
    candidate.title = max(originals, key=lambda p: _headline_score(p.title, candidate.centroid)).title[:500]
    candidate.first_published_at = pieces[0].published_at
    candidate.last_published_at = pieces[-1].published_at
    _store(candidate)


def candidates_merge(*, target: Candidate, other: Candidate) -> Candidate:
    """Move every piece of `other` into `target` and delete `other` (an editor found they report
    one event). A story made from `other` goes over to `target` unless `target` has its own."""
    if target.pk == other.pk:
        raise ValidationError("A candidate cannot be merged into itself.", code="same")
    if target.story_id and other.story_id and target.story_id != other.story_id:
        raise ValidationError(
            "Both candidates already became different stories; merge the stories instead.", code="stories"
        )
    with transaction.atomic():
        Piece.objects.filter(candidate=other).update(candidate=target)
        if other.story_id and not target.story_id:
            target.story_id = other.story_id
            target.status = Candidate.Status.DRAFTED
            target.save(update_fields=["story", "status"])
        other.delete()
        # An editor's choice of pieces: the grouping gathers no lone piece out of `target` later.
        Candidate.objects.filter(pk=target.pk).update(pieces_chosen=True)
        target.pieces_chosen = True
        candidate_refresh(target)
    return target


def pieces_split(*, pieces) -> Candidate:
    """Take `pieces` (all of one candidate, not all of it) out into a new open candidate."""
    pieces = list(pieces)
    if not pieces:
        raise ValidationError("Choose the pieces to split out.", code="empty")
    sources = {piece.candidate_id for piece in pieces}
    if len(sources) != 1 or None in sources:
        raise ValidationError("The pieces split out must all come from one candidate.", code="sources")
    source = Candidate.objects.get(pk=sources.pop())
    ids = [piece.pk for piece in pieces]
    if not source.pieces.exclude(pk__in=ids).exists():
        raise ValidationError("Splitting every piece out would leave the candidate empty.", code="all")
    with transaction.atomic():
        first = min(piece.published_at for piece in pieces)
        last = max(piece.published_at for piece in pieces)
        # An editor's choice of pieces on both sides: a piece split off alone stays alone (the
        # grouping gathers lone pieces only from candidates nobody chose the pieces of).
        new = Candidate.objects.create(
            title=pieces[0].title[:500], first_published_at=first, last_published_at=last, pieces_chosen=True
        )
        Candidate.objects.filter(pk=source.pk).update(pieces_chosen=True)
        source.pieces_chosen = True
        Piece.objects.filter(pk__in=ids).update(candidate=new)
        candidate_refresh(source)
        candidate_refresh(new)
    return new


def candidate_balance(candidate: Candidate) -> BiasSplit | None:
    """Left / center / right shares over the distinct outlets reporting the candidate, a copy
    counted as its original's outlet (a wire story run by five outlets is one voice); None if
    no outlet is rated. The same rule as a story drafted from it (newsdesk.desk marks such copies
    wire_copy; articles.bias.voices leaves them out)."""
    leans = Source.objects.filter(pk__in=_origins(candidate)).values_list("bias", flat=True)
    return split_from_leans(leans)


def candidate_balances(candidates) -> dict[int, BiasSplit | None]:
    """candidate_balance of each of `candidates` (a page of the desk), in two queries whatever
    their number."""
    ids = [candidate.pk for candidate in candidates]
    origins = (
        Piece.objects.filter(candidate_id__in=ids)
        .annotate(
            origin=Case(
                When(copy_of__candidate=F("candidate"), then=F("copy_of__outlet_id")), default=F("outlet_id")
            )
        )
        .values_list("candidate_id", "origin")
        .order_by()  # the pieces' own order would make DISTINCT see every piece apart
        .distinct()
    )
    by_candidate: dict[int, list[int]] = {pk: [] for pk in ids}
    for candidate_id, origin in origins:
        by_candidate[candidate_id].append(origin)
    outlets = {origin for found in by_candidate.values() for origin in found}
    leans = dict(Source.objects.filter(pk__in=outlets).values_list("pk", "bias"))
    return {pk: split_from_leans(leans[o] for o in found) for pk, found in by_candidate.items()}


def _origins(candidate: Candidate):
    """The distinct outlets of the candidate's original pieces: a copy stands for its original when
    the original is here too; one whose original was split off speaks for its own outlet."""
    return (
        Piece.objects.filter(candidate=candidate)
        .annotate(
            origin=Case(
                When(copy_of__candidate=candidate, then=F("copy_of__outlet_id")), default=F("outlet_id")
            )
        )
        .values("origin")
        .distinct()
    )


def _counts(title: str, text: str) -> tuple[Counter, set[str]]:
    """Term counts of a piece (headline counted HEADLINE_WEIGHT times) and its name-like terms."""
    headline = terms.words(title)
    lead = terms.words(text, limit=LEAD_WORDS)
    counts = Counter(lead.terms)
    for t in headline.terms:
        counts[t] += HEADLINE_WEIGHT
    # A headline capitalises every word in many outlets' styles: only the lead tells names.
    return counts, lead.names


def _frequencies(texts, *, counting: bool) -> tuple[dict[str, int], int]:
    """Document frequencies of `texts` and the number of pieces, in one query. `counting`: the
    piece being weighed is not counted yet and counts itself in."""
    rows = dict(Term.objects.filter(text__in=[*texts, ALL_PIECES]).values_list("text", "pieces"))
    total = rows.pop(ALL_PIECES, 0)
    if counting:
        return {t: rows.get(t, 0) + 1 for t in texts}, total + 1
    return {t: max(rows.get(t, 0), 1) for t in texts}, max(total, 1)


def _take_turn() -> None:
    """Group one piece at a time across every worker, until the caller's transaction ends.

    Without it two workers reading two outlets' first pieces on one event at once would each find
    no candidate and start one each. The lock is the ALL_PIECES row every grouping updates anyway,
    taken first, so the rows counted after it are always locked in the same order (no deadlock).
    On SQLite the transaction's write lock (taken when it starts) already does this. The turn
    lasts one piece's grouping (tens of milliseconds), not a feed's fetch."""
    Term.objects.get_or_create(text=ALL_PIECES, defaults={"pieces": 0})
    Term.objects.select_for_update().filter(text=ALL_PIECES).values_list("pk").first()


def _count(texts) -> None:
    """Count one more piece for each term (and for ALL_PIECES): rows made first, then incremented
    in the database, so two workers counting at once lose no count."""
    texts = [*texts, ALL_PIECES]
    Term.objects.bulk_create([Term(text=t, pieces=0) for t in texts], ignore_conflicts=True)
    Term.objects.filter(text__in=texts).update(pieces=F("pieces") + 1)


def _vector(counts: Counter, names: set[str], df: dict[str, int], total: int) -> dict[str, float]:
    """The piece's unit TF-IDF vector over its PIECE_TERMS heaviest terms."""
    weights = {}
    for t, count in counts.items():
        weight = (1 + math.log(count)) * math.log((total + IDF_PRIOR) / df[t])
        weights[t] = weight * NAME_BOOST if t in names else weight
    return _unit(_top(weights, PIECE_TERMS))


def _top(weights, size: int) -> dict[str, float]:
    heaviest = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:size]
    return {t: round(w, 5) for t, w in heaviest}


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {t: w / norm for t, w in weights.items()} if norm else {}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b.get(t, 0.0) for t, w in a.items())
    norms = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norms if norms else 0.0


def _headline_score(title: str, centroid: dict[str, float]) -> float:
    """How close a headline is to the centroid: the cosine of its set of terms (no IDF needed)."""
    found = set(terms.words(title).terms)
    return _cosine(dict.fromkeys(found, 1.0), centroid)


def _shortlist(lookup: list[str], published_at):
    """A subquery: the SHORTLIST candidates active within WINDOW of `published_at` whose index
    shares the most weight with the terms `lookup`."""
    return (
        CandidateTerm.objects.filter(
            text__in=lookup,
            last_published_at__gte=published_at - WINDOW,
            candidate__first_published_at__lte=published_at + WINDOW,
        )
        .values("candidate")
        .annotate(shared=Sum("weight"))
        .order_by("-shared", "candidate")
        .values("candidate")[:SHORTLIST]
    )


def _closest(vector: dict[str, float], published_at) -> Candidate | None:
    """The candidate closest to `vector` among those sharing one of its heaviest terms and active
    within WINDOW of `published_at`, if it is at THRESHOLD or closer."""
    shortlist = _shortlist(list(_top(vector, LOOKUP_TERMS)), published_at)
    best, best_score = None, THRESHOLD
    for candidate in Candidate.objects.filter(pk__in=shortlist).only("centroid").order_by("pk"):
        score = _cosine(vector, candidate.centroid)
        if score >= best_score:
            best, best_score = candidate, score
    return best


def _singles_gather(candidate: Candidate, published_at) -> None:
    """Move into `candidate` the pieces left alone in candidates of their own that its centroid,
    just grown, now reaches (cosine at THRESHOLD or more): each would join it if it arrived now.

    A piece that arrived before its event's other reports (a follow-up's angle read first, an
    outlet's whole feed read before the others') started a candidate that the later reports did
    not match one by one; without this it stays apart, and how many pieces stay apart depends on
    the order the pieces came in. Only open candidates of one piece that nobody drafted or chose
    the pieces of are gathered, from the shortlist of the candidate's own index terms: SHORTLIST
    more comparisons and two queries, whatever the store's size."""
    shortlist = _shortlist(list(_top(candidate.centroid, INDEX_TERMS)), published_at)
    singles = (
        Candidate.objects.filter(
            pk__in=shortlist, status=Candidate.Status.OPEN, story=None, pieces_chosen=False
        )
        .exclude(pk=candidate.pk)
        .annotate(size=Count("pieces"))
        .filter(size=1)
        .only("centroid", "first_published_at", "last_published_at")
        .order_by("pk")
    )
    reached = Counter(candidate.centroid)
    gathered = []
    for single in singles:
        if _cosine(single.centroid, candidate.centroid) >= THRESHOLD:
            reached.update(single.centroid)
            gathered.append(single)
            candidate.first_published_at = min(candidate.first_published_at, single.first_published_at)
            candidate.last_published_at = max(candidate.last_published_at, single.last_published_at)
    if not gathered:
        return
    Piece.objects.filter(candidate__in=gathered).update(candidate=candidate)
    Candidate.objects.filter(pk__in=[single.pk for single in gathered]).delete()
    candidate.centroid = _top(reached, CENTROID_TERMS)


def _store(candidate: Candidate) -> None:
    """Save the candidate's centroid, title, dates and outlet count, and index its heaviest terms."""
    candidate.outlets_count = _origins(candidate).count()
    candidate.save(
        update_fields=["centroid", "title", "first_published_at", "last_published_at", "outlets_count"]
    )
    CandidateTerm.objects.filter(candidate=candidate).delete()
    CandidateTerm.objects.bulk_create(
        CandidateTerm(candidate=candidate, text=t, weight=w, last_published_at=candidate.last_published_at)
        for t, w in _unit(_top(candidate.centroid, INDEX_TERMS)).items()
    )
