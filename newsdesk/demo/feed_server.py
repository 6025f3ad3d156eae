"""A small news-outlet server for the demo and the ingestion benchmark: each outlet's RSS feed and
its article pages (with the boilerplate real pages have around the text) and lead pictures.

`make run` serves the demo corpus with it on 127.0.0.1 so the newsdesk has live feeds to follow
without the internet; `make bench-ingest` serves 50 outlets x 40 items, one port per outlet so
that the fetcher's per-host limits apply as they would to 50 real outlets.

    python manage.py serve_demo_feeds 127.0.0.1:8001    # the demo corpus, dated to end now
"""

import hashlib
import io
import threading
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Item:
    outlet: str  # the outlet's domain, also the first segment of its paths here
    outlet_name: str
    path: str  # /<domain>/<slug>
    title: str
    author: str
    published_at: datetime
    text: str


def _rss(items: list[Item], *, base: str, domain: str, name: str) -> bytes:
    entries = []
    for item in items:
        link = escape(base + item.path)
        entries.append(
            f"<item><title>{escape(item.title)}</title><link>{link}</link>"
            f'<guid isPermaLink="true">{link}</guid>'
            f"<pubDate>{format_datetime(item.published_at)}</pubDate>"
            f"<dc:creator>{escape(item.author)}</dc:creator>"
            f"<description>{escape(item.text.split('. ')[0])}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{escape(name)}</title><link>{escape(base)}/{domain}/</link>"
        f"<description>Latest from {escape(name)}</description><language>en</language>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def _page(item: Item, *, base: str) -> bytes:
    # Paragraphs of two or three sentences, as outlets print them.
    sentences = [s.strip() for s in item.text.replace("? ", "?|").replace(". ", ".|").split("|") if s]
    paragraphs = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    picture = f"{base}/images/{item.outlet}.png"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(item.title)} | {escape(item.outlet_name)}</title>
<link rel="canonical" href="{escape(base + item.path)}">
<meta property="og:title" content="{escape(item.title)}">
<meta property="og:image" content="{escape(picture)}">
<meta name="author" content="{escape(item.author)}">
<meta property="article:published_time" content="{item.published_at.isoformat()}">
</head><body>
<header><nav><a href="/{item.outlet}/">Home</a> <a href="/{item.outlet}/world">World</a>
<a href="/{item.outlet}/politics">Politics</a> <a href="/{item.outlet}/sport">Sport</a>
<a href="/{item.outlet}/subscribe">Subscribe for full access</a></nav></header>
<main><article><h1>{escape(item.title)}</h1>
<p class="byline">By {escape(item.author)}, {item.published_at:%d %B %Y}</p>
{body}
</article>
<aside><h2>Most read</h2><ul><li><a href="/{item.outlet}/x">Ten things to know this week</a></li>
<li><a href="/{item.outlet}/y">Weather: a mild weekend ahead</a></li></ul></aside></main>
<footer><p>&copy; {escape(item.outlet_name)}. All rights reserved. Cookie settings. Contact us.</p></footer>
</body></html>""".encode()


def _picture(domain: str) -> bytes:
    from PIL import Image, ImageDraw

    digest = hashlib.blake2b(domain.encode(), digest_size=3).digest()
    image = Image.new("RGB", (1200, 675), tuple(digest))
    ImageDraw.Draw(image).rectangle((80, 80, 1120, 595), outline=(255, 255, 255), width=12)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class FeedSite:
    """What one server answers: the outlets' feeds, pages and pictures (built once, read by threads)."""

    def __init__(self, items: list[Item], *, base: str, feed_size: int = 50):
        by_outlet: dict[str, list[Item]] = {}
        for item in sorted(items, key=lambda i: i.published_at, reverse=True):
            by_outlet.setdefault(item.outlet, []).append(item)
        self.feeds = {
            f"/{domain}/feed.xml": _rss(
                outlet_items[:feed_size], base=base, domain=domain, name=outlet_items[0].outlet_name
            )
            for domain, outlet_items in by_outlet.items()
        }
        self.pages = {item.path: _page(item, base=base) for item in items}
        self.pictures: dict[str, bytes] = {}
        self.domains = set(by_outlet)
        self._lock = threading.Lock()

    def picture(self, domain: str) -> bytes | None:
        if domain not in self.domains:
            return None
        with self._lock:
            if domain not in self.pictures:
                self.pictures[domain] = _picture(domain)
            return self.pictures[domain]


class Handler(BaseHTTPRequestHandler):
    site: FeedSite  # set on the class made by serve()
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass  # quiet: the newsdesk logs what it fetched

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        path = urlsplit(self.path).path
        if path == "/robots.txt":
            return self._send(200, "text/plain", b"User-agent: *\nAllow: /\n", head=head)
        if path in self.site.feeds:
            body = self.site.feeds[path]
            etag = f'"{hashlib.blake2b(body, digest_size=8).hexdigest()}"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, None, b"", head=True, extra={"ETag": etag})
            extra = {"ETag": etag, "Cache-Control": "max-age=60"}
            return self._send(200, "application/rss+xml; charset=utf-8", body, head=head, extra=extra)
        if path in self.site.pages:
            return self._send(200, "text/html; charset=utf-8", self.site.pages[path], head=head)
        if path.startswith("/images/") and path.endswith(".png"):
            picture = self.site.picture(path[len("/images/") : -len(".png")])
            if picture is not None:
                return self._send(200, "image/png", picture, head=head)
        return self._send(404, "text/plain", b"Not found\n", head=head)

    def _send(self, status, content_type, body, *, head, extra=None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)) if status != 304 else "0")
        self.end_headers()
        if not head and status != 304:
            self.wfile.write(body)


def serve(items: list[Item], *, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Start serving `items` in a daemon thread; the server's base URL is http://host:server_port."""
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    base = f"http://{host}:{server.server_port}"
    server.RequestHandlerClass = type("SiteHandler", (Handler,), {"site": FeedSite(items, base=base)})
    threading.Thread(
        target=server.serve_forever, name=f"feed-server-{server.server_port}", daemon=True
    ).start()
    return server
