"""A stand-in for the caching proxy's purge endpoint: a threaded HTTP server on loopback that
records every PURGE it gets (and can be told to answer slowly, or with an error)."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Purge:
    path: str
    keys: list[str]
    at: float  # time.monotonic() when it arrived


@dataclass
class FakeProxy:
    server: ThreadingHTTPServer
    purges: list[Purge] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0  # seconds before answering
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def purged_keys(self) -> set[str]:
        with self.lock:
            return {key for purge in self.purges for key in purge.keys}

    def clear(self) -> None:
        with self.lock:
            self.purges.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Purge]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.purges) >= count:
                    return list(self.purges)
            time.sleep(0.01)
        raise AssertionError(f"{count} purges expected within {timeout} s, got {len(self.purges)}")


def start_fake_proxy() -> FakeProxy:
    proxy: FakeProxy

    class Handler(BaseHTTPRequestHandler):
        def do_PURGE(self):
            keys = self.headers.get("xkey-purge", "").split()
            with proxy.lock:
                proxy.purges.append(Purge(self.path, keys, time.monotonic()))
            if proxy.delay:
                time.sleep(proxy.delay)
            body = f"Purged {len(keys)}".encode()
            self.send_response(proxy.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy = FakeProxy(server)
    threading.Thread(target=server.serve_forever, daemon=True, name="fake-proxy").start()
    return proxy
