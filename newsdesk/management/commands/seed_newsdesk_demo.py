"""The demo newsdesk: the corpus's ten outlets, each following its feed on the demo feed server.

    python manage.py seed_newsdesk_demo --feeds-at http://127.0.0.1:8001

Written as an import document (outlets with "feeds") and loaded by the importer editors use, so
running it again changes nothing; with --if-empty it does nothing once any feed exists (so
outlets an editor removed stay removed). `make run` runs it, then starts the feed server
(`serve_demo_feeds`) and the worker, which fetches the feeds as it would real outlets'.
"""

import json
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from articles.transfer.importing import ImportFailed, import_file
from newsdesk.demo import corpus
from newsdesk.models import Feed


class Command(BaseCommand):
    help = "Add the demo outlets with their feeds on the demo feed server (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--feeds-at",
            required=True,
            help="The demo feed server's address, e.g. http://127.0.0.1:8001",
        )
        parser.add_argument("--if-empty", action="store_true", help="Only when the newsdesk has no feed yet")

    def handle(self, *args, feeds_at, if_empty, **options):
        if if_empty and Feed.objects.exists():
            self.stdout.write("The newsdesk follows feeds already: demo outlets not added.")
            return
        base = feeds_at.rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise CommandError(
                f"--feeds-at must be a server's address like http://127.0.0.1:8001, not {feeds_at!r}"
            )
        document = {
            "sources": [
                {
                    "name": outlet["name"],
                    "domain": outlet["domain"],
                    "homepage": f"https://{outlet['domain']}/",
                    "bias": outlet["bias"],
                    # Where it is based and its dated rating history (corpus/outlets.json).
                    "country": outlet.get("country", ""),
                    "ratings": outlet.get("ratings", []),
                    "description": "A fictional outlet of the demo newsdesk; its feed is served locally.",
                    "feeds": [f"{base}/{outlet['domain']}/feed.xml"],
                }
                for outlet in corpus.outlets()
            ]
        }
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "newsdesk-demo.json"
            path.write_text(json.dumps(document))
            try:
                result = import_file(path)
            except ImportFailed as exc:
                raise CommandError(f"The demo outlets could not be added: {exc}") from exc
        self.stdout.write(f"Demo newsdesk outlets: {result}; feeds at {base}/<outlet>/feed.xml")
