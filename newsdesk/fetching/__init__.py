"""The one fetcher for the newsdesk: feeds, article pages and pictures, fetched politely (per-host
limits, robots.txt for pages, conditional requests) and safely (no private addresses, bounded time
and size). See docs/newsdesk.md for its rules and settings."""

from newsdesk.fetching.client import fetch
from newsdesk.fetching.errors import (
    BadContentType,
    BadStatus,
    FetchError,
    Refused,
    Timeout,
    TooLarge,
    TooManyRedirects,
)
from newsdesk.fetching.result import FetchResult

__all__ = [
    "BadContentType",
    "BadStatus",
    "FetchError",
    "FetchResult",
    "Refused",
    "Timeout",
    "TooLarge",
    "TooManyRedirects",
    "fetch",
]
