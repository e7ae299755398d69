"""The embedded default's job sweep. Without a broker there is no Celery beat, so a timer that
comes due while nobody acts would wait for ever; instead, after a request, at most every
``WORKFLOW_EMBEDDED_SWEEP`` seconds, the web process runs the jobs that are due."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings

from workflow.services.jobs import jobs_run_due

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_last = 0.0


def sweep_after_request(**_kwargs: Any) -> None:
    global _last
    interval = settings.WORKFLOW_EMBEDDED_SWEEP
    if not interval:
        return
    now = time.monotonic()
    if now - _last < interval or not _lock.acquire(blocking=False):
        return
    try:
        _last = now
        jobs_run_due(100)
    except Exception:  # a failing sweep must never break the page that was just served
        logger.exception("the embedded job sweep failed")
    finally:
        _lock.release()


def reset() -> None:
    global _last
    _last = 0.0
