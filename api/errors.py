"""Every API error as JSON ({"detail": ...} or the fields' messages): 400, 404, 405, 406, 429."""

from django.core.exceptions import BadRequest, SuspiciousOperation
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """REST framework's handler, and a 400 in JSON for what Django refuses as a bad request (too many
    query fields) where the site would answer with its HTML page."""
    response = drf_exception_handler(exc, context)
    if response is None and isinstance(exc, SuspiciousOperation | BadRequest):
        response = Response({"detail": "The request is malformed."}, status=status.HTTP_400_BAD_REQUEST)
    return response


class NoSuchEndpoint(APIView):
    """Any other address under /api/v1/, with any method: a 404 in JSON, throttled like the rest."""

    schema = None  # not an endpoint: left out of the OpenAPI schema

    def _missing(self, request, *args, **kwargs):
        raise NotFound("There is no such endpoint. The endpoints are listed at /api/v1/openapi.json.")

    get = post = put = patch = delete = head = options = _missing
