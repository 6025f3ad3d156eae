"""RSS 2.0 and Atom feeds of the 50 latest published stories, site-wide and per section.

Thin by design: items() is published()[:50]. Each item carries its lead image both as an enclosure
and as a Media RSS element with its width and height, read from the renditions made at save time.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.files.storage import default_storage
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, rfc3339_date
from django.views.decorators.http import require_safe

from articles.models import Article, Category
from articles.site.cache import surrogate

FEED_SIZE = 50
MEDIA_NS = "http://search.yahoo.com/mrss/"


class _MediaMixin:
    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        media = item.get("media")
        if media:
            handler.addQuickElement("media:content", "", media)


class MediaRssFeed(_MediaMixin, Rss201rev2Feed):
    def rss_attributes(self):
        return {**super().rss_attributes(), "xmlns:media": MEDIA_NS}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        # RSS 2.0 has no per-item update time; Atom's element (its namespace is declared) carries it.
        if item["updateddate"]:
            handler.addQuickElement("atom:updated", rfc3339_date(item["updateddate"]))


class MediaAtomFeed(_MediaMixin, Atom1Feed):
    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:media": MEDIA_NS}


@dataclass(frozen=True)
class Scope:
    category: Category | None
    base_url: str


class LatestStoriesFeed(Feed):
    feed_type = MediaRssFeed

    # Django's Feed answers any method with the feed; a feed is read, like every public page.
    @method_decorator(require_safe)
    def __call__(self, request, *args, **kwargs):
        # Every story's change purges every feed: no story keys needed (50 of them a feed).
        surrogate.add_keys(request, surrogate.FEEDS)
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request, section=None):
        category = get_object_or_404(Category, slug=section) if section else None
        return Scope(category, request.build_absolute_uri("/").rstrip("/"))

    def title(self, scope):
        name = settings.NEWSAPP_SITE_NAME
        return f"{scope.category.name} · {name}" if scope.category else f"{name}: latest stories"

    def author_name(self):
        # Atom requires an author on every entry, or one for the whole feed.
        return settings.NEWSAPP_SITE_NAME

    def link(self, scope):
        return scope.category.get_absolute_url() if scope.category else reverse("articles:home")

    def description(self, scope):
        what = f"{scope.category.name} stories" if scope.category else "Stories"
        return f"{what} with their sources and a left / center / right bias rating."

    subtitle = description

    def feed_url(self, scope):
        kind = "atom" if self.feed_type is MediaAtomFeed else "rss"
        if scope.category:
            return reverse(f"articles:section_feed_{kind}", kwargs={"section": scope.category.slug})
        return reverse(f"articles:feed_{kind}")

    def items(self, scope):
        # A feed item carries the whole summary, so only the search vector is left behind.
        stories = Article.objects.published().for_cards().defer(None).defer("search_vector")
        if scope.category:
            stories = stories.filter(category=scope.category)
        items = list(stories[:FEED_SIZE])
        for item in items:
            item.feed_base_url = scope.base_url
        return items

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.summary_html

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.last_modified

    def item_categories(self, item):
        return [item.category.name]

    def _lead(self, item):
        return item.rendition("960") or item.rendition("480") or item.rendition("1440")

    @staticmethod
    def _picture_url(item, name):
        # Local media is linked from this site; a bucket's links are absolute already.
        url = default_storage.url(name)
        return url if url.startswith(("http://", "https://")) else f"{item.feed_base_url}{url}"

    def item_enclosure_url(self, item):
        lead = self._lead(item)
        return self._picture_url(item, lead["jpg"]) if lead else None

    def item_enclosure_length(self, item):
        lead = self._lead(item)
        return lead.get("jpg_bytes", 0) if lead else 0

    item_enclosure_mime_type = "image/jpeg"

    def item_extra_kwargs(self, item):
        lead = self._lead(item)
        if not lead:
            return {}
        return {
            "media": {
                "url": self._picture_url(item, lead["jpg"]),
                "type": "image/jpeg",
                "medium": "image",
                "width": str(lead["w"]),
                "height": str(lead["h"]),
            }
        }


class LatestStoriesAtomFeed(LatestStoriesFeed):
    feed_type = MediaAtomFeed
