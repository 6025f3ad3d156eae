"""/favicon.ico: the site's icon where browsers, feed readers and crawlers ask for it by default, on
pages that name no icon (a feed, a sitemap, the lockout page) and in browsers that take no SVG icon.

The file is static/img/favicon.ico (drawn from favicon.svg by scripts/make-favicon), read once per
process: no database, no template, and never in the page cache (it is not one of its views).
"""

import hashlib
from functools import cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_safe

ICON = "img/favicon.ico"
# Long: the icon changes about never, and browsers keep icons apart from pages anyway. The ETag lets
# a client that asks again get a 304 without the bytes.
MAX_AGE = 30 * 24 * 60 * 60


@cache
def _icon() -> tuple[bytes, str]:
    """The icon's bytes and their ETag."""
    found = finders.find(ICON)
    if found is None:  # a deployment without it: 404 like any missing file (not cached: tried again)
        raise Http404("No icon.")
    data = Path(found).read_bytes()
    return data, f'"{hashlib.blake2b(data, digest_size=16).hexdigest()}"'


@require_safe
@condition(etag_func=lambda request: _icon()[1])
def favicon(request):
    data, _ = _icon()
    response = HttpResponse(data, content_type="image/vnd.microsoft.icon")
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return response
