"""A local S3 server for the tests: moto's server mode on loopback, behind a thin proxy that counts
every request reaching it (and can fail them, as a bucket that is down would).

moto keeps its buckets in this process's memory: no durability, one process, and none of S3's
consistency, permission or signature checks (docs/scaling.md, "Media on object storage").
"""

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from moto.server import ThreadedMotoServer

# Headers of one hop, not of the request or answer itself (RFC 9110 section 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the test reads server.seen instead
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self):
        proxy: CountingProxy = self.server.proxy
        body = self._body()
        proxy.record(Seen(self.command, self.path))
        failure = proxy.failure(self.command, self.path)
        if failure == "drop":
            self.close_connection = True
            return  # the connection closes with no answer: what boto3 sees of a server that died
        if failure == "unavailable":
            payload = b"<Error><Code>ServiceUnavailable</Code><Message>Down for the test</Message></Error>"
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        upstream = http.client.HTTPConnection(*proxy.upstream, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        if self.command == "HEAD":  # the object's size, with no body
            self.send_header("Content-Length", answer.getheader("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward


class CountingProxy:
    """Forwards every request to `upstream` (host, port), remembering each; `fail` decides per request
    whether it is answered ("drop": closed unanswered; "unavailable": 503) or forwarded (None)."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.seen: list[Seen] = []
        self.fail = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Forward)
        self._server.daemon_threads = True
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def record(self, seen: Seen):
        with self._lock:
            self.seen.append(seen)

    def failure(self, method: str, path: str) -> str | None:
        return self.fail(method, path) if self.fail else None

    def start(self):
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class LocalS3:
    """moto's server on an ephemeral loopback port and the counting proxy in front of it."""

    def __init__(self):
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self):
        self.moto.start()
        self.direct_url = "http://{}:{}".format(*self.moto.get_host_and_port())
        self.proxy = CountingProxy(self.moto.get_host_and_port())
        self.proxy.start()
        return self

    def stop(self):
        self.proxy.stop()
        self.moto.stop()
