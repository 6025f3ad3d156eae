"""bench/ingest.py's outlets: one newsdesk.demo.feed_server per outlet on loopback (a port each, so
the fetcher's per-host limits, keyed by host:port, apply as they would to as many real outlets),
serving the outlet's RSS feed and article pages from threads of the benchmark's own process; and
the import document (`"sources"` only, each outlet with its `"feeds"`) that adds them to the site."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from bench.ingest_corpus import LEANS, outlet_items
from bench.lib.processes import HOST, BenchError, http_get
from newsdesk.demo.feed_server import serve


class Outlets(contextlib.AbstractContextManager):
    """`outlets` servers holding `items` items in all, round-robin; stopped on leaving."""

    def __init__(self, *, items: int, outlets: int):
        self.items_by_domain = outlet_items(items, outlets)
        self.servers = {}

    def __enter__(self) -> Outlets:
        try:
            for domain, items in self.items_by_domain.items():
                self.servers[domain] = serve(items, host=HOST, port=0)
            self.check()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        self.servers = {}

    def feed_url(self, domain: str) -> str:
        return f"http://{HOST}:{self.servers[domain].server_port}/{domain}/feed.xml"

    def check(self) -> None:
        """Every feed and one page of each outlet answer 200."""
        for domain, server in self.servers.items():
            port = server.server_port
            for path in (f"/{domain}/feed.xml", self.items_by_domain[domain][0].path):
                status, _, body = http_get(port, path)
                if status != 200 or not body:
                    raise BenchError(f"the outlet server of {domain} answered {status} for {path}")

    def import_document(self) -> dict:
        """The import format's `"sources"`, each outlet with its one feed (no stories)."""
        return {
            "sources": [
                {
                    "name": items[0].outlet_name,
                    "domain": domain,
                    "homepage": f"https://{domain}/",
                    "bias": LEANS[number % len(LEANS)],
                    "feeds": [self.feed_url(domain)],
                }
                for number, (domain, items) in enumerate(self.items_by_domain.items())
            ]
        }

    def write_import(self, path: Path) -> Path:
        path.write_text(json.dumps(self.import_document(), indent=1))
        return path
