"""The API's rate limit: settings.NEWSAPP_API_RATE requests per client, counted in the shared cache."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.throttle import client_address


class ClientRateThrottle(SimpleRateThrottle):
    """Every API request counts, answers from the API's cache included (the cache is looked up after
    the throttle, api.caching). The client is its address as the sign-in throttle decides it
    (REMOTE_ADDR, or the trusted proxy's header), so a forged X-Forwarded-For cannot dodge it.

    While the cache is unreachable nothing is counted and nothing refused (it fails open, as the
    page cache does): the limit protects the database, which the API's own cache then cannot.
    """

    scope = "api"

    def get_rate(self) -> str:
        return settings.NEWSAPP_API_RATE  # read on each request, so a changed setting applies at once

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "unknown"}
