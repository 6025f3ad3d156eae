"""Reading a body within its size limit, counted both as sent and once decompressed: a 100 KB gzip
or brotli file can unpack to gigabytes, so the decompressors are never asked for more than the
room left."""

import zlib
from collections.abc import Iterable

import brotli

from newsdesk.fetching.errors import FetchError, TooLarge

CHUNK = 64 * 1024


class _Inflate:
    """gzip (any number of members) and deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, encoding: str):
        self.gzip = encoding == "gzip"
        self.wbits = 16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS
        self.engine = zlib.decompressobj(self.wbits)
        self.started = False

    def feed(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        while data:
            if self.engine.eof:
                if not self.gzip:
                    break  # trailing bytes after a deflate stream carry nothing
                self.engine = zlib.decompressobj(self.wbits)  # the next gzip member
            try:
                out += self.engine.decompress(data, max(1, room - len(out) + 1))
            except zlib.error:
                if self.started or self.gzip:
                    raise
                self.engine, self.wbits = zlib.decompressobj(-zlib.MAX_WBITS), -zlib.MAX_WBITS
                self.started = True
                continue
            self.started = True
            if len(out) > room:
                return bytes(out)
            data = self.engine.unconsumed_tail or self.engine.unused_data
        return bytes(out)

    def finished(self) -> bool:
        return self.engine.eof


class _Brotli:
    def __init__(self):
        self.engine = brotli.Decompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        out = bytearray(self.engine.process(data, output_buffer_limit=room + 1))
        while len(out) <= room and not self.engine.can_accept_more_data():
            out += self.engine.process(b"", output_buffer_limit=room - len(out) + 1)
        return bytes(out)

    def finished(self) -> bool:
        return self.engine.is_finished()


def _decoder(content_encoding: str):
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return _Inflate("gzip")
    if encoding == "deflate":
        return _Inflate("deflate")
    if encoding == "br":
        return _Brotli()
    raise FetchError(f"unsupported Content-Encoding {content_encoding[:50]!r}")


def body_read(chunks: Iterable[bytes], *, content_encoding: str, limit: int) -> bytes:
    """The body, decompressed; TooLarge as soon as either the bytes received or the bytes unpacked
    pass `limit`."""
    decoder = _decoder(content_encoding)
    received = 0
    body = bytearray()
    for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise TooLarge(f"body larger than {limit} bytes")
        if decoder is None:
            body += chunk
            continue
        try:
            body += decoder.feed(chunk, limit - len(body))
        except (zlib.error, brotli.error) as error:
            raise FetchError(f"body does not decompress ({content_encoding}): {error}") from None
        if len(body) > limit:
            raise TooLarge(f"body larger than {limit} bytes once decompressed ({content_encoding})")
    if decoder is not None and received and not decoder.finished():
        raise FetchError(f"compressed body cut short ({content_encoding})")
    return bytes(body)
