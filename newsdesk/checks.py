"""`manage.py check --deploy` for the newsdesk: settings fine on a laptop, wrong on a server."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def fetcher_settings(app_configs, **kwargs):
    found = []
    if settings.NEWSAPP_FETCH_ALLOW_PRIVATE:
        found.append(
            Warning(
                "NEWSAPP_FETCH_ALLOW_PRIVATE is true: a feed or picture address can reach this "
                "server's own network (server-side request forgery).",
                hint="Leave it unset in production; it is for tests and closed networks only.",
                id="newsdesk.W001",
            )
        )
    if not settings.NEWSAPP_FETCH_CONTACT_URL:
        found.append(
            Warning(
                "NEWSAPP_FETCH_CONTACT_URL is empty: outlets whose feeds you read cannot tell who "
                "fetches them or how to reach you (the User-Agent names no contact).",
                hint="Set it to a page saying who runs this site and how to reach you.",
                id="newsdesk.W002",
            )
        )
    return found
