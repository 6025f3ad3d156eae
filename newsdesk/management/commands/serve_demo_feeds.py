"""Serve the demo outlets' feeds, article pages and pictures (newsdesk.demo.feed_server) until
stopped: `make run` starts it beside the web server and the task worker.

    python manage.py serve_demo_feeds 127.0.0.1:8001
"""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from newsdesk.demo import corpus
from newsdesk.demo.feed_server import serve


class Command(BaseCommand):
    help = "Serve the demo outlets' feeds on HOST:PORT (default 127.0.0.1:8001) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("addr", nargs="?", default="127.0.0.1:8001", help="HOST:PORT to listen on")

    def handle(self, *args, addr, **options):
        host, _, port = addr.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise CommandError(f"Give the address as HOST:PORT, e.g. 127.0.0.1:8001, not {addr!r}")
        try:
            server = serve(corpus.items(), host=host, port=int(port))
        except OSError as exc:
            raise CommandError(f"Cannot serve the demo feeds on {addr}: {exc.strerror or exc}") from exc
        self.stdout.write(f"Demo feeds on http://{addr}/<outlet>/feed.xml (ten outlets, dated to end now)")
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        stopped.wait()
        server.shutdown()
