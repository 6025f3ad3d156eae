"""Security headers Django does not set itself."""

from django.conf import settings


class ResourcePolicyMiddleware:
    """Cross-Origin-Resource-Policy on every response: a browser loads our pages, pictures and
    static files into another site's page only as far as settings.NEWSAPP_RESOURCE_POLICY allows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Cross-Origin-Resource-Policy", settings.NEWSAPP_RESOURCE_POLICY)
        return response
