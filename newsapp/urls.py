import re

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.views.static import serve

admin.site.site_header = "newsapp newsroom"
admin.site.site_title = "newsapp newsroom"
admin.site.index_title = "Newsroom"

handler400 = "newsapp.errors.bad_request"
handler403 = "newsapp.errors.permission_denied"
handler404 = "newsapp.errors.page_not_found"
handler500 = "newsapp.errors.server_error"

urlpatterns = [
    # Before the admin, whose catch-all would answer for these addresses.
    path("admin/two-factor/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    # Before articles, whose catch-all <section>/ would answer for methodology/, blindspot/, ...
    path("", include("coverage.urls")),
    path("", include("articles.urls")),
]


def serve_media(request, path, document_root):
    """django.views.static.serve, where a name the file system refuses (longer than it allows) is a
    404 like any missing file, not a 500."""
    try:
        return serve(request, path, document_root=document_root)
    except OSError as exc:
        raise Http404("No such file.") from exc


if settings.NEWSAPP_SERVE_MEDIA and settings.MEDIA_URL.startswith("/"):
    # Development and testing only (see NEWSAPP_SERVE_MEDIA). Unlike django.conf.urls.static.static(),
    # this also works with DEBUG off, so a test server shows the real 404 page and still serves uploads.
    media_prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    urlpatterns = [
        re_path(rf"^{media_prefix}(?P<path>.*)$", serve_media, {"document_root": settings.MEDIA_ROOT}),
        *urlpatterns,
    ]
