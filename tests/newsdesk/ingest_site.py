"""An outlet's site for the ingestion tests: a feed (RSS 2.0) and its article pages, served by
tests/newsdesk/servers.py on 127.0.0.1."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from tests.newsdesk.servers import Reply

START = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)

# Five unrelated stories, long enough for a page's text to be read (and grouped apart).
STORIES = {
    "tram": (
        "Council approves the east tram line",
        "The city council voted 31 to 12 on Tuesday night to fund the east tram line, ending a debate "
        "that has run for almost a decade. The line will run for nine kilometres from the central "
        "station to the new hospital, with fourteen stops, and the first trams should carry passengers "
        "within four years. Opponents said the cost would squeeze spending on buses.",
    ),
    "library": (
        "Central library extends its opening hours",
        "The central library will stay open until nine in the evening on weekdays from April, after "
        "a petition signed by 4,300 readers. The librarians' union agreed to the new rota, which adds "
        "two evening shifts a week. Students had complained that the reading rooms closed before "
        "lectures ended, leaving them without a quiet place to work.",
    ),
    "marathon": (
        "Marathon route crosses the river twice",
        "Organisers of the spring marathon unveiled a route that crosses the river twice and finishes "
        "in the old market square. About 18,000 runners are expected on the day. Roads along the "
        "embankment will close from six in the morning, and extra trains will run from the suburbs "
        "so that spectators can reach the course without their cars.",
    ),
    "harbour": (
        "Harbour dredging begins after storm damage",
        "Dredgers began clearing silt from the harbour mouth on Monday, three weeks after the storm "
        "that grounded two fishing boats. The port authority said the channel had lost almost two "
        "metres of depth. The work will cost 2.4 million and should be finished before the ferry "
        "season starts in May, when larger vessels return.",
    ),
    "school": (
        "Primary school gets a new roof",
        "Builders will replace the leaking roof of Hillside primary school over the summer holidays, "
        "the education department confirmed. Parents had collected photographs of buckets in the "
        "classrooms for a year. The department set aside 860,000 for the work, including solar "
        "panels that should cover a third of the school's electricity.",
    ),
}


def page(title: str, text: str, *, image: str = "", canonical: str = "", lang: str = "en-GB") -> bytes:
    head = [f"<title>{escape(title)} | Metro Daily</title>"]
    if image:
        head.append(f'<meta property="og:image" content="{escape(image)}">')
    if canonical:
        head.append(f'<link rel="canonical" href="{escape(canonical)}">')
    body = "".join(f"<p>{escape(sentence)}.</p>" for sentence in text.rstrip(".").split(". "))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{"".join(head)}</head><body>'
        '<nav><a href="/">Home</a> <a href="/news">News</a></nav>'
        f"<main><article><h1>{escape(title)}</h1>{body}</article></main>"
        "<footer><p>Copyright Metro Daily.</p></footer></body></html>"
    ).encode()


def feed_item(path: str, title: str, summary: str, *, published: datetime | None, image: str = "") -> str:
    date = f"<pubDate>{format_datetime(published)}</pubDate>" if published else ""
    media = f'<enclosure url="{escape(image)}" type="image/jpeg" length="1"/>' if image else ""
    return (
        f"<item><title>{escape(title)}</title><link>{escape(path)}</link>{date}"
        f"<description>{escape(summary)}</description>{media}</item>"
    )


def rss(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Metro Daily</title>'
        f"<link>https://metro.example/</link><language>en-gb</language>{''.join(items)}</channel></rss>"
    ).encode()


def site(names=tuple(STORIES), *, gap=timedelta(hours=1), feed_headers=None, query="?utm_source=rss") -> dict:
    """Routes of an outlet: /feed.xml listing `names` (newest first, `gap` apart) and their pages."""
    routes, items = {}, []
    for number, name in enumerate(names):
        title, text = STORIES[name]
        published = START - gap * number
        items.append(feed_item(f"/news/{name}{query}", title, text.split(". ")[0] + ".", published=published))
        routes[f"/news/{name}"] = Reply(body=page(title, text), content_type="text/html; charset=utf-8")
    feed = rss(items)
    routes["/feed.xml"] = Reply(body=feed, content_type="application/rss+xml", headers=feed_headers or {})
    return routes
