"""Every API error as JSON ({"detail": ...} or the fields' messages), whoever answers it: REST
framework's views (400, 404, 405, 406, 429) and, for what is refused before or outside them (a host
we do not serve, too many query fields, a body too large, a crash), the site's error handlers, which
answer under /api/ in the same JSON (api.json_error, newsapp.errors.render_error)."""

from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from api.json_error import NO_SUCH_ENDPOINT


def exception_handler(exc, context):
    """REST framework's handler, its answers always in plain JSON: the schema's view would send them
    as OpenAPI documents (application/vnd.oai.openapi+json), which they are not.

    What it leaves (a request Django refuses, such as too many query fields, or a crash) is raised
    on to Django's handlers, which answer under /api/ in JSON too: one wording for both the site and
    the API, and one place deciding it."""
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.content_type = JSONRenderer.media_type
    return response


class NoSuchEndpoint(APIView):
    """Any other address under /api/v1/, with any method: a 404 in JSON, throttled like the rest."""

    schema = None  # not an endpoint: left out of the OpenAPI schema

    def _missing(self, request, *args, **kwargs):
        raise NotFound(NO_SUCH_ENDPOINT)

    get = post = put = patch = delete = head = options = _missing
