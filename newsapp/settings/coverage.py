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
if NEWSAPP_BLINDSPOT_MIN_OUTLETS < 1 or NEWSAPP_BLINDSPOT_WINDOW_DAYS < 1:
    raise ImproperlyConfigured(
        "NEWSAPP_BLINDSPOT_MIN_OUTLETS and NEWSAPP_BLINDSPOT_WINDOW_DAYS must be 1 or more."
    )
