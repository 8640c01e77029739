"""The Celery application (cookiecutter-django layout): settings come from Django's CELERY_* settings."""

import os

from celery import Celery
from celery.signals import before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("kleer_hubspot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect(weak=False)
def _stamp_sent_at(headers=None, **kwargs) -> None:
    """Every message carries its publish time (queue age in /metrics, beat lag); see integration/queues.py."""
    from integration.queues import sent_at_stamp

    sent_at_stamp(headers=headers)
