"""Coverage you can audit (coverage/, api/): blindspots, balance over time and the open data."""

from django.core.exceptions import ImproperlyConfigured

from newsapp.settings.base import INSTALLED_APPS
from newsapp.settings.environment import env

INSTALLED_APPS += ["coverage", "api"]

# A story is a blindspot for a side when at least this many distinct rated outlets cover it and the
# upper end of the 95% Wilson interval of that side's share is below the side's share in the story's
# section over the previous NEWSAPP_BLINDSPOT_WINDOW_DAYS days (coverage/blindspots.py).
NEWSAPP_BLINDSPOT_MIN_OUTLETS = env.int("NEWSAPP_BLINDSPOT_MIN_OUTLETS", default=8)
NEWSAPP_BLINDSPOT_WINDOW_DAYS = env.int("NEWSAPP_BLINDSPOT_WINDOW_DAYS", default=30)
# /blindspot/ (and its feeds, and the API's list) looks at the stories published in these last days.
NEWSAPP_BLINDSPOT_RECENT_DAYS = env.int("NEWSAPP_BLINDSPOT_RECENT_DAYS", default=7)
if min(NEWSAPP_BLINDSPOT_MIN_OUTLETS, NEWSAPP_BLINDSPOT_WINDOW_DAYS, NEWSAPP_BLINDSPOT_RECENT_DAYS) < 1:
    raise ImproperlyConfigured(
        "NEWSAPP_BLINDSPOT_MIN_OUTLETS, NEWSAPP_BLINDSPOT_WINDOW_DAYS and NEWSAPP_BLINDSPOT_RECENT_DAYS "
        "must be 1 or more."
    )

# The licence of the open data (the API and the downloads), named on the methodology page and beside
# every download: its name as readers know it, and the address of its full text (empty: no link).
NEWSAPP_DATA_LICENCE_NAME = env.str("NEWSAPP_DATA_LICENCE_NAME", default="CC BY 4.0")
NEWSAPP_DATA_LICENCE_URL = env.str(
    "NEWSAPP_DATA_LICENCE_URL", default="https://creativecommons.org/licenses/by/4.0/"
)
if not NEWSAPP_DATA_LICENCE_NAME.strip():
    raise ImproperlyConfigured("NEWSAPP_DATA_LICENCE_NAME must name the open data's licence.")
if NEWSAPP_DATA_LICENCE_URL and not NEWSAPP_DATA_LICENCE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"NEWSAPP_DATA_LICENCE_URL is {NEWSAPP_DATA_LICENCE_URL!r}; it must start with https:// or http://."
    )
