"""An API error as REST framework's views write theirs ({"detail": ...}, api.schema.ERROR), for the
answers made outside them (newsapp.errors: a host we do not serve, too many fields, a body too
large, a crash). Apart from api.errors because newsapp.errors is imported by the logging config,
before the apps are loaded, and REST framework's views cannot be imported then."""

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

NO_SUCH_ENDPOINT = "There is no such endpoint. The endpoints are listed at /api/v1/openapi.json."


def json_error(status: int, detail: str) -> HttpResponse:
    renderer = JSONRenderer()
    return HttpResponse(renderer.render({"detail": detail}), status=status, content_type=renderer.media_type)
