"""What the site refuses at the door, and the security headers Django does not set itself."""

import re

from django.conf import settings
from django.core.exceptions import DisallowedHost

from newsapp.errors import render_error

_PORT = re.compile(r":(\d+)$")


class RequestLimitsMiddleware:
    """Requests no page of ours sends, refused before anything reads them:

    - a body larger than settings.NEWSAPP_MAX_REQUEST_BYTES (the largest picture plus its form):
      413, before a byte of it is stored (Django would spool any file upload to disk, whatever its
      size, before the form looked at it);
    - a Host whose port is no port (`localhost:99999`): the same 400 as a host we do not serve
      (every absolute address on the page is built from it, and each would be a page cached apart).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.NEWSAPP_MAX_REQUEST_BYTES:
            limit = settings.NEWSAPP_MAX_REQUEST_BYTES
            return render_error(request, "413.html", 413, limit=f"{limit / 1e6:.0f} MB")
        host = request.META.get("HTTP_HOST", "")
        if (match := _PORT.search(host)) and (len(match[1]) > 5 or not 0 < int(match[1]) <= 65535):
            raise DisallowedHost(f"Invalid port in HTTP_HOST header: {host[-20:]!r}.")
        return self.get_response(request)


class ResourcePolicyMiddleware:
    """Cross-Origin-Resource-Policy on every response: a browser loads our pages, pictures and
    static files into another site's page only as far as settings.NEWSAPP_RESOURCE_POLICY allows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Cross-Origin-Resource-Policy", settings.NEWSAPP_RESOURCE_POLICY)
        return response
