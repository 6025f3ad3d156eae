"""A small local HTTP server for the newsdesk's tests: a ThreadingHTTPServer on 127.0.0.1 (a port of
its own), answering from a map of paths, in a daemon thread. Nothing leaves the machine.

    with serve({"/feed.xml": Reply(body=rss, content_type="application/rss+xml")}) as server:
        fetch(server.url("/feed.xml"))

A route is a Reply (sent as is), or a function given the request (a BaseHTTPRequestHandler: .path,
.headers, .command) that returns a Reply, or writes the answer itself on request.wfile (slow or
endless bodies) and returns None. Paths are matched without the query string; unknown paths get 404.
Every request is recorded in server.requests (method, path with query, headers). With `tls` (an
ssl.SSLContext holding a certificate), the server speaks HTTPS."""

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case


Route = Reply | Callable[[BaseHTTPRequestHandler], Reply | None]


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in an endless body does not hold up the test's end

    def __init__(self, routes: dict[str, Route], tls: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        self.routes = dict(routes)
        self.requests: list[Seen] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def get_request(self):
        connection, address = super().get_request()
        if self.tls:
            # The handshake happens in the handler's thread (on first read), not in the accept loop.
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def handle_error(self, request, client_address) -> None:
        # The client hanging up mid-answer is what many tests do on purpose (sizes, deadlines).
        pass


class _Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(
                Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )
        route = self.server.routes.get(self.path.split("?", 1)[0], Reply(404, b"not found"))
        reply = route(self) if callable(route) else route
        if reply is not None:
            self.reply(reply)
        self.close_connection = True

    do_HEAD = do_GET

    def reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        headers = {"Content-Type": reply.content_type, "Content-Length": str(len(reply.body))}
        headers.update(reply.headers)
        for name, value in headers.items():
            if value is not None:
                self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and reply.status not in (204, 304):
            self.wfile.write(reply.body)

    def log_message(self, format, *args) -> None:
        pass


@contextmanager
def serve(routes: dict[str, Route], *, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    server = Server(routes, tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
