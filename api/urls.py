from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from api import docs, downloads, views
from api.errors import NoSuchEndpoint

app_name = "api"

router = SimpleRouter()
router.register("stories", views.StoryViewSet, basename="story")
router.register("sections", views.SectionViewSet, basename="section")
router.register("outlets", views.OutletViewSet, basename="outlet")

urlpatterns = [
    *router.urls,
    path("blindspots/", views.BlindspotView.as_view(), name="blindspots"),
    *(
        path(
            f"downloads/{name}", downloads.DownloadView.as_view(), {"name": name}, name=name.replace(".", "-")
        )
        for name in downloads.DOWNLOADS
    ),
    path("openapi.json", views.SchemaView.as_view(), name="schema"),
    path("docs/", docs.ReferenceView.as_view(), name="docs"),
    # Last: any other address under /api/v1/ is a 404 in JSON, not the site's HTML page.
    re_path(r"^.*$", NoSuchEndpoint.as_view(), name="not_found"),
]
