"""The error answers as the OpenAPI schema describes them (api.errors makes them)."""

from drf_spectacular.utils import OpenApiResponse

ERROR = OpenApiResponse(
    response={"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    description="What is wrong, in plain words.",
)
BAD_PARAMETERS = OpenApiResponse(
    response={
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    description="Each bad query parameter with what it expects.",
)
THROTTLED = OpenApiResponse(
    response=ERROR.response,
    description="Over the rate limit (settings.NEWSAPP_API_RATE per client): wait Retry-After seconds.",
)
LIST_ERRORS = {400: BAD_PARAMETERS, 429: THROTTLED}
DETAIL_ERRORS = {404: ERROR, 429: THROTTLED}
