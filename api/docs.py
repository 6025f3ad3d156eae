"""/api/v1/docs/: the browsable reference, Swagger UI from drf-spectacular-sidecar's static files.

A template of our own rather than drf-spectacular's, whose page starts Swagger UI with an inline
script and styles it with an inline <style>, both refused by the site's Content-Security-Policy.
"""

from django.conf import settings
from django.urls import reverse
from django.views.generic import TemplateView


class ReferenceView(TemplateView):
    template_name = "api/docs.html"
    http_method_names = ["get", "head"]

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "site_name": settings.NEWSAPP_SITE_NAME,
            "schema_url": reverse("api:schema"),
            "licence_name": settings.NEWSAPP_DATA_LICENCE_NAME,
            "licence_url": settings.NEWSAPP_DATA_LICENCE_URL,
        }
