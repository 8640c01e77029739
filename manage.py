#!/usr/bin/env python
"""Django's command-line utility."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    # manage.py is the developer's tool (cookiecutter-django's defaults to local settings too): DEBUG on unless
    # the environment says otherwise. Servers start from config.wsgi / config.asgi / config.celery_app, where
    # DEBUG stays off unless set, so a deployment that forgets it refuses to start instead of running insecurely.
    os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
