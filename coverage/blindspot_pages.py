"""/blindspot/ and its RSS and Atom feeds: the current blindspots for the left and for the right, each
with the numbers the rule compared (coverage.blindspots), so a reader can check every entry.

The page runs three queries (the navigation's sections, the recent stories with enough outlets, their
sections' daily tallies), the feeds two, whatever the size of the archive.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.views.decorators.http import require_safe

from articles.site import seo
from articles.site.cache import surrogate
from coverage.blindspots import SIDES, Blindspot, current_blindspots

SIDE_NAMES = {"left": "the left", "right": "the right"}


def percent(share: float) -> str:
    """A share as readers see it on this page and in the feeds: a percentage to one decimal."""
    return f"{share * 100:.1f}%"


@dataclass(frozen=True)
class Shown:
    """A blindspot with its numbers written out."""

    spot: Blindspot
    share: str
    low: str
    high: str
    baseline: str

    @classmethod
    def of(cls, spot: Blindspot) -> "Shown":
        return cls(spot, percent(spot.share), percent(spot.low), percent(spot.high), percent(spot.baseline))

    def sentence(self) -> str:
        """The entry's numbers in one line, for the feeds."""
        spot = self.spot
        return (
            f"{spot.x} of {spot.n} rated outlets from {SIDE_NAMES[spot.side]} ({self.share}); "
            f"95% interval {self.low} to {self.high}; {SIDE_NAMES[spot.side]}'s share of "
            f"{spot.article.category.name} coverage over the previous "
            f"{settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS} days: {self.baseline}."
        )


def methodology_address() -> str | None:
    # The page names the methodology in plain text when a deployment has no such page.
    try:
        return reverse("coverage:methodology")
    except NoReverseMatch:
        return None


def rule_settings() -> dict:
    return {
        "min_outlets": settings.NEWSAPP_BLINDSPOT_MIN_OUTLETS,
        "window_days": settings.NEWSAPP_BLINDSPOT_WINDOW_DAYS,
        "recent_days": settings.NEWSAPP_BLINDSPOT_RECENT_DAYS,
    }


@require_safe
def blindspot_page(request):
    surrogate.add_keys(request, surrogate.COVERAGE)
    found = current_blindspots()
    context = {
        "sides": [(side, SIDE_NAMES[side], [Shown.of(spot) for spot in found[side]]) for side in SIDES],
        "rule": rule_settings(),
        "methodology": methodology_address(),
        "meta": seo.page_meta(
            request,
            title="Blindspots",
            description="Recent stories the left or the right barely covers, compared with what is usual "
            "in their section, by a stated rule with every number shown.",
        ),
    }
    return render(request, "coverage/blindspot.html", context)


@dataclass(frozen=True)
class FeedEntry:
    shown: Shown
    base_url: str  # the site's address as the request reached it

    @property
    def article(self):
        return self.shown.spot.article


class BlindspotFeed(Feed):
    feed_type = Rss201rev2Feed
    title = f"{settings.NEWSAPP_SITE_NAME}: blindspots"
    description = (
        "Stories the left or the right barely covers, compared with what is usual in their section; "
        "the rule and its numbers are on the methodology page."
    )
    subtitle = description

    # Django's Feed answers any method with the feed; a feed is read, like every public page.
    @method_decorator(require_safe)
    def __call__(self, request, *args, **kwargs):
        surrogate.add_keys(request, surrogate.COVERAGE, surrogate.FEEDS)
        return super().__call__(request, *args, **kwargs)

    def author_name(self):
        # Atom requires an author on every entry, or one for the whole feed.
        return settings.NEWSAPP_SITE_NAME

    def link(self):
        return reverse("coverage:blindspot")

    def feed_url(self):
        return reverse("coverage:blindspot_atom" if self.feed_type is Atom1Feed else "coverage:blindspot_rss")

    def get_object(self, request):
        return request.build_absolute_uri("/").rstrip("/")

    def items(self, base_url):
        found = current_blindspots()
        # One stream, newest story first; a story missed by both sides appears once for each.
        entries = [FeedEntry(Shown.of(spot), base_url) for side in SIDES for spot in found[side]]
        entries.sort(key=lambda entry: (entry.article.published_at, entry.article.pk), reverse=True)
        return entries

    def item_title(self, item):
        return f"Blindspot for {SIDE_NAMES[item.shown.spot.side]}: {item.article.title}"

    def item_description(self, item):
        return item.shown.sentence()

    def item_link(self, item):
        return item.article.get_absolute_url()

    def item_guid(self, item):
        # The same story can be listed for both sides: each entry needs an id of its own, and an Atom
        # id is an absolute IRI.
        return f"{item.base_url}{item.article.get_absolute_url()}#blindspot-{item.shown.spot.side}"

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.article.published_at

    def item_updateddate(self, item):
        return item.article.last_modified

    def item_categories(self, item):
        return [item.article.category.name]


class BlindspotAtomFeed(BlindspotFeed):
    feed_type = Atom1Feed
