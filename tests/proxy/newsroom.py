"""A small newsroom and every public answer a caching proxy would keep of it, read as a reader does:
status, Surrogate-Key, Cache-Control and body."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from articles.newsroom.stories import bias_rating_refresh
from articles.site import sitemaps
from tests.factories import ArticleFactory, ArticleSourceFactory, CategoryFactory, SourceFactory


@dataclass(frozen=True)
class Answer:
    status: int
    keys: frozenset[str]
    control: str
    body: bytes

    @property
    def kept_by_a_proxy(self) -> bool:
        control = self.control.replace(" ", "").split(",")
        return "public" in control and "no-store" not in control and "private" not in control


def story(title, section, outlets, **fields):
    article = ArticleFactory(title=title, category=section, **fields)
    for outlet in outlets:
        ArticleSourceFactory(article=article, source=outlet)
    bias_rating_refresh(article=article)
    return article


def build() -> dict:
    world, politics = CategoryFactory(slug="world"), CategoryFactory(slug="politics")
    left = SourceFactory(name="Left Ledger", slug="left-ledger", bias="left")
    right = SourceFactory(name="Right Review", slug="right-review", bias="right")
    centre = SourceFactory(name="Centre Courier", slug="centre-courier", bias="center")
    return {
        "world": world,
        "politics": politics,
        "left": left,
        "right": right,
        "centre": centre,
        "w1": story("Harbour strike ends", world, [left, right]),
        "w2": story("Ferry fares rise", world, [centre]),  # shares no outlet with w1
        "p1": story("Budget vote passes", politics, [right]),
        "draft": story("Bridge reopens", world, [left], status=Article.Status.DRAFT, published_at=None),
    }


def urls(newsroom) -> dict[str, str]:
    """Every kind of cacheable answer, by a name the tests use."""
    api = "/api/v1/"
    named = {
        "home": reverse("articles:home"),
        "world": reverse("articles:section", kwargs={"section": "world"}),
        "politics": reverse("articles:section", kwargs={"section": "politics"}),
        "sources": reverse("articles:sources"),
        "feed": reverse("articles:feed_rss"),
        "atom": reverse("articles:feed_atom"),
        "world feed": reverse("articles:section_feed_rss", kwargs={"section": "world"}),
        "politics feed": reverse("articles:section_feed_atom", kwargs={"section": "politics"}),
        "sitemap": reverse("articles:sitemap_index"),
        "sections sitemap": reverse("articles:sitemap", kwargs={"section": "sections"}),
        "month sitemap": sitemaps.month_path(timezone.now()),
        "news sitemap": reverse("articles:news_sitemap"),
        "balance": reverse("coverage:balance"),
        "blindspot": reverse("coverage:blindspot"),
        "blindspot feed": reverse("coverage:blindspot_rss"),
        "blindspot atom": reverse("coverage:blindspot_atom"),
        "methodology": reverse("coverage:methodology"),
        "api stories": f"{api}stories/",
        "api w1": f"{api}stories/{newsroom['w1'].pk}/",
        "api draft": f"{api}stories/{newsroom['draft'].pk}/",
        "api sections": f"{api}sections/",
        "api outlets": f"{api}outlets/",
        "api left": f"{api}outlets/left-ledger/",
        "api blindspots": f"{api}blindspots/",
        "api download": f"{api}downloads/stories.json",
    }
    for name in ("w1", "w2", "p1"):
        named[name] = newsroom[name].get_absolute_url()
    named["draft"] = reverse("articles:article", kwargs={"section": "world", "slug": newsroom["draft"].slug})
    for name in ("left", "right", "centre"):
        named[name] = newsroom[name].get_absolute_url()
    return named


def read(client, url) -> Answer:
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    keys = frozenset(response.get("Surrogate-Key", "").split())
    return Answer(response.status_code, keys, response.get("Cache-Control", ""), body)


def snapshot(client, named: dict[str, str]) -> dict[str, Answer]:
    return {name: read(client, url) for name, url in named.items()}
