"""The fetcher's settings, read at each fetch (so tests and operators can change them), with the
defaults documented in docs/newsdesk.md."""

from django.conf import settings

PURPOSES = ("feed", "page", "image")
MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = {"feed": 5 * 1024 * 1024, "page": 5 * 1024 * 1024, "image": 15 * 1024 * 1024}


def allow_private() -> bool:
    return bool(getattr(settings, "NEWSAPP_FETCH_ALLOW_PRIVATE", False))


def private_hosts() -> frozenset[str]:
    """The host:port pairs that may be private addresses when others may not (`make run`'s demo
    feed server on loopback), lower case as written in the URL."""
    return frozenset(
        h.strip().lower() for h in getattr(settings, "NEWSAPP_FETCH_PRIVATE_HOSTS", ()) if h.strip()
    )


def user_agent() -> str:
    # newsapp/settings/newsdesk.py builds it from NEWSAPP_SITE_NAME and NEWSAPP_FETCH_CONTACT_URL.
    return getattr(settings, "NEWSAPP_FETCH_USER_AGENT", "") or "newsapp/1.0 (newsdesk)"


def connect_timeout() -> float:
    return float(getattr(settings, "NEWSAPP_FETCH_CONNECT_TIMEOUT", 5.0))


def total_timeout() -> float:
    return float(getattr(settings, "NEWSAPP_FETCH_TIMEOUT", 30.0))


def max_bytes(purpose: str) -> int:
    configured = getattr(settings, "NEWSAPP_FETCH_MAX_BYTES", {})
    return int(configured.get(purpose, DEFAULT_MAX_BYTES[purpose]))


def host_concurrency() -> int:
    return max(1, int(getattr(settings, "NEWSAPP_FETCH_HOST_CONCURRENCY", 2)))


def host_interval() -> float:
    return max(0.0, float(getattr(settings, "NEWSAPP_FETCH_HOST_INTERVAL", 0.5)))


def host_wait() -> float:
    return float(getattr(settings, "NEWSAPP_FETCH_HOST_WAIT", 120.0))


def robots_ttl() -> float:
    return float(getattr(settings, "NEWSAPP_FETCH_ROBOTS_TTL", 3600.0))
