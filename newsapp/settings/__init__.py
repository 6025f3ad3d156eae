"""
newsapp settings: every deploy difference read from the environment (12-factor), one module per
part of the product so each stays readable. Later parts may add to earlier ones (INSTALLED_APPS).
"""

from newsapp.settings.api import *  # noqa: F403
from newsapp.settings.base import *  # noqa: F403
from newsapp.settings.coverage import *  # noqa: F403
from newsapp.settings.newsdesk import *  # noqa: F403
from newsapp.settings.scaling import *  # noqa: F403
