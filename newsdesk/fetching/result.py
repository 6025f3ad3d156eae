"""The answer to a successful fetch."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FetchResult:
    url: str  # the final URL, after redirects
    status: int  # 200, or 304 when the conditional request found nothing new
    headers: dict[str, str] = field(repr=False)  # names in lower case
    body: bytes = field(repr=False)  # decompressed; empty on 304
    content_type: str  # media type only, lower case ("application/rss+xml"); empty on 304
    charset: str | None  # from the Content-Type header when Python knows it, else None
    not_modified: bool
    max_age: int | None  # seconds the answer stays fresh (Cache-Control max-age less Age), or None
    etag: str  # to send back next time; on 304, the server's or else the one sent
    last_modified: str

    @property
    def text(self) -> str:
        # Without a declared charset, UTF-8 (what feeds and modern pages use); bytes that do not fit
        # are replaced rather than failing, so a stray byte does not lose a whole page.
        return self.body.decode(self.charset or "utf-8", errors="replace")
