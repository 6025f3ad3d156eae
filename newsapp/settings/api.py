"""The open data API (api/): Django REST framework, its schema (drf-spectacular) and CORS for /api/."""

import re

from django.core.exceptions import ImproperlyConfigured

from newsapp.settings.base import INSTALLED_APPS, MIDDLEWARE
from newsapp.settings.environment import env

INSTALLED_APPS += [
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "corsheaders",
]

# Each client (its address as accounts.throttle.client_address decides) may make this many API
# requests per second, minute, hour or day ("120/min"); answers from the API's cache count too.
NEWSAPP_API_RATE = env.str("NEWSAPP_API_RATE", default="120/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", NEWSAPP_API_RATE):
    raise ImproperlyConfigured(
        f"NEWSAPP_API_RATE is {NEWSAPP_API_RATE!r}; write it as a number of requests per second, minute, "
        "hour or day, such as 120/min."
    )
# Stories or outlets in one page of a list: the default, and the most a client may ask for (page_size).
NEWSAPP_API_PAGE_SIZE = 50
NEWSAPP_API_MAX_PAGE_SIZE = 200

REST_FRAMEWORK = {
    # Anonymous reads only: no session (so no CSRF question), no answer that depends on who asks.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "URL_FORMAT_OVERRIDE": None,  # one format (JSON): ?format= is no special parameter
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ClientRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "newsapp open data API",
    "DESCRIPTION": "Read-only: published stories with their sources and balance, sections, outlets with "
    "their dated ratings, and the current blindspots. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every answer's fields are always present (null where there is no value): say so in the schema.
    "COMPONENT_NO_READ_ONLY_REQUIRED": False,
    "ENUM_NAME_OVERRIDES": {"Lean": "articles.models.Source.Lean"},
}

# CORS: any origin may read the API from a browser (GET, HEAD and the preflight's OPTIONS), with no
# cookies or credentials; nothing for the rest of the site.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["ETag", "Link", "Retry-After"]
CORS_PREFLIGHT_MAX_AGE = 86400
# High up, so its headers reach every API answer (429s, 404s, cached answers) and it answers a
# preflight before anything else looks at it; after the request limits, which refuse first.
MIDDLEWARE.insert(
    MIDDLEWARE.index("newsapp.security.ResourcePolicyMiddleware") + 1, "corsheaders.middleware.CorsMiddleware"
)
