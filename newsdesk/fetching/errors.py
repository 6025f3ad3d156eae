"""What can go wrong with a fetch, one class per kind, so callers can tell a refusal (never retry)
from a timeout or a server's bad day (retry later, after `retry_after` when the server said)."""


class FetchError(Exception):
    """A fetch that gave no usable answer. `reason` is one line for logs and the admin; `status` is the
    HTTP status when the server answered; `retry_after` is the wait in seconds the server asked for."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class Refused(FetchError):
    """Not fetched on purpose: an address or URL the rules forbid, or robots.txt said no."""


class Timeout(FetchError):
    """The connection or the whole exchange took longer than allowed."""


class TooLarge(FetchError):
    """The body (as sent, or once decompressed) is larger than the purpose allows."""


class TooManyRedirects(FetchError):
    """More redirects than allowed, or a redirect back to a URL already visited."""


class BadStatus(FetchError):
    """The server answered with a status other than 200 (or 304 to a conditional request)."""


class BadContentType(FetchError):
    """The body is not of a type the purpose accepts (HTML where a feed was expected...)."""
