"""The proposed section of a story candidate, from the site's own published stories.

Each section has a term profile: the words of its newest PROFILE_STORIES live stories (headline and
summary, read by newsdesk.terms as the grouping reads pieces), each story a unit vector weighted by
how few of the profiled stories use the word (IDF), summed and cut to PROFILE_TERMS terms. A
candidate's centroid (newsdesk.grouping) is compared with every profile (cosine) and the closest
section is proposed if it reaches FLOOR; below it, none (an editor chooses). Offline and cheap:
the profiles are built in one query per section and kept in the cache for PROFILE_SECONDS (then
rebuilt, so newly published stories count within the hour), and proposing costs a query per
candidate whose proposal changed.

    sections_propose(candidate_ids)    # ingestion, for the candidates a fetch touched

A section an editor chose (Candidate.section_chosen, set by the desk's section select) is never
replaced, and a candidate that became a story or was dismissed keeps the section it had.
"""

import math
from collections import Counter

from django.core.cache import cache

from articles.models import Article, Category

from . import terms
from .grouping import _cosine, _unit
from .models import Candidate

PROFILE_STORIES = 200  # the newest stories of a section profiled: what it covers lately, bounded
PROFILE_TERMS = 300  # a profile's heaviest terms: a section's vocabulary, not its every word
# The cosine a candidate needs with its closest section's profile. A candidate's centroid is mostly
# its event's own names, which no profile holds; what is left (rates, votes, goals, tokens) is small:
# the demo newsroom's 5 sections against the corpus's candidates gave 0.03 to 0.18 for a plausible
# section, and under 0.03 mostly for events no section covers (a moon landing, an outbreak): of 38
# candidates, 23 got a plausible section, 3 an implausible one, 12 none (tests/newsdesk/test_sections.py).
FLOOR = 0.03
PROFILE_SECONDS = 3600
CACHE_KEY = "newsdesk:section-profiles"


def section_profiles() -> dict[int, dict[str, float]]:
    """Each section's term profile (section id -> unit vector), from the cache or built now."""
    profiles = cache.get(CACHE_KEY)
    if profiles is None:
        profiles = _profiles_build()
        cache.set(CACHE_KEY, profiles, PROFILE_SECONDS)
    return profiles


def section_for(centroid: dict[str, float], profiles: dict[int, dict[str, float]]) -> int | None:
    """The id of the section whose profile is closest to `centroid`, if at FLOOR or closer."""
    best, best_score = None, FLOOR
    for section_id, profile in sorted(profiles.items()):
        score = _cosine(centroid, profile)
        if score >= best_score:
            best, best_score = section_id, score
    return best


def sections_propose(candidate_ids) -> int:
    """Propose a section for each open candidate of `candidate_ids` whose section no editor chose;
    return how many proposals changed."""
    candidates = Candidate.objects.filter(
        pk__in=candidate_ids, status=Candidate.Status.OPEN, section_chosen=False
    ).only("centroid", "section")
    changed = 0
    profiles = None
    for candidate in candidates:
        profiles = section_profiles() if profiles is None else profiles
        proposed = section_for(candidate.centroid, profiles)
        if proposed != candidate.section_id:
            # section_chosen again in the update: an editor choosing meanwhile wins.
            changed += Candidate.objects.filter(pk=candidate.pk, section_chosen=False).update(
                section_id=proposed
            )
    return changed


def _profiles_build() -> dict[int, dict[str, float]]:
    stories: dict[int, list[Counter]] = {}
    for section_id in Category.objects.values_list("pk", flat=True):
        rows = (
            Article.objects.published()
            .filter(category_id=section_id)
            .order_by("-published_at", "-pk")
            .values_list("title", "summary")[:PROFILE_STORIES]
        )
        counted = [Counter(terms.words(title).terms + terms.words(summary).terms) for title, summary in rows]
        stories[section_id] = [counts for counts in counted if counts]
    total = sum(len(found) for found in stories.values())
    df = Counter(t for found in stories.values() for counts in found for t in counts)
    profiles = {}
    for section_id, found in stories.items():
        summed = Counter()
        for counts in found:
            summed.update(
                _unit({t: (1 + math.log(n)) * math.log(1 + total / df[t]) for t, n in counts.items()})
            )
        if summed:
            heaviest = dict(sorted(summed.items(), key=lambda item: (-item[1], item[0]))[:PROFILE_TERMS])
            profiles[section_id] = _unit(heaviest)
    return profiles
