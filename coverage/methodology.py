"""/methodology/: how the bias bar, the ratings behind it, blindspots and the open data work, in plain words.

The page states the numbers the code uses (the settings, the rounding), read where they live, so
the explanation cannot drift from the behaviour. Besides the navigation it runs no query.
"""

from django.conf import settings
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe

from articles.bias import split_from_leans
from articles.models import Source, SourceRating
from articles.site import seo
from articles.site.cache import surrogate
from coverage.blindspots import wilson_interval

# Pages the methodology points readers to, by URL name. A page not (yet) in this deployment's URLs
# is named in plain text without a link rather than breaking this one.
LINKED_PAGES = {
    "sources": "articles:sources",
    "blindspot": "coverage:blindspot",
    "balance": "coverage:balance",
    "api_docs": "api:docs",
}

# What each lean means, in the order of the bar (the words are the readers' ones).
LEAN_MEANINGS = [
    (
        Source.Lean.LEFT,
        "Its news coverage steadily favours progressive positions: in the stories it picks, the voices "
        "it quotes and the words it uses.",
    ),
    (
        Source.Lean.LEAN_LEFT,
        "Mostly straight reporting with a visible tilt to the left. Counted as left in the bar.",
    ),
    (
        Source.Lean.CENTER,
        "No steady tilt either way, or a mix that balances out over many stories.",
    ),
    (
        Source.Lean.LEAN_RIGHT,
        "Mostly straight reporting with a visible tilt to the right. Counted as right in the bar.",
    ),
    (
        Source.Lean.RIGHT,
        "Its news coverage steadily favours conservative positions: in the stories it picks, the voices "
        "it quotes and the words it uses.",
    ),
    (
        Source.Lean.UNRATED,
        "No rating was in force for the outlet on the story's date. It is listed with the story's sources "
        "but left out of the bar.",
    ),
]


def _address(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@require_safe
def methodology(request):
    surrogate.add_keys(request, surrogate.COVERAGE)
    # A worked example, computed by the code that computes every bar: three outlets, one per side.
    example = split_from_leans([Source.Lean.LEFT, Source.Lean.CENTER, Source.Lean.RIGHT])
    # The rule at its threshold, worked by the code that applies it: no outlet of a side among n.
    fewest = settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS
    context = {
        "meta": seo.page_meta(
            request,
            title="How we rate coverage",
            description="How the bias bar is computed, where outlet ratings come from, how blindspots "
            "are found and how to reuse the data.",
        ),
        "links": {key: _address(name) for key, name in LINKED_PAGES.items()},
        "leans": [(lean.label, meaning) for lean, meaning in LEAN_MEANINGS],
        "confidences": SourceRating.Confidence.labels,
        "example": example,
        "blindspot_min_outlets": settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS,
        "blindspot_window_days": settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS,
        "blindspot_recent_days": settings.NEWSAPP_BLINDSPOT_RECENT_DAYS,
        "blindspot_example_high": f"{wilson_interval(0, fewest)[1] * 100:.1f}",
        "licence_name": settings.NEWSAPP_DATA_LICENCE_NAME,
        "licence_url": settings.NEWSAPP_DATA_LICENCE_URL,
    }
    return render(request, "coverage/methodology.html", context)
