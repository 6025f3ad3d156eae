#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from importlib import import_module


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsapp.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    if not any(arg.startswith("--settings") for arg in sys.argv[1:]):  # else Django reads them itself
        try:
            import_module(os.environ["DJANGO_SETTINGS_MODULE"])  # they refuse a missing secret key
        except ImproperlyConfigured as error:
            # What to do, in one line, whatever the command: not a traceback, nor a help text.
            sys.exit(f"manage.py: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
