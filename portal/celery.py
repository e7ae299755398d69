"""The Celery application. Without ``CELERY_BROKER_URL`` tasks run eagerly in-process."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _freeze_loaded(**_kwargs: object) -> None:
    """A worker process collects only what its tasks create (``portal.startup``)."""
    from portal.startup import freeze_loaded

    freeze_loaded()
