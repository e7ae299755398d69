"""What a long-running process (a gunicorn worker, a Celery worker) does once it has loaded
the portal."""

from __future__ import annotations

import gc

from django.urls import get_resolver

__all__ = ["freeze_loaded"]


def freeze_loaded() -> None:
    """Load every view (the URL configuration imports them) and move everything loaded so
    far out of the garbage collector's sight (:func:`gc.freeze`).

    The modules, classes and functions of Django, the apps and their libraries are about
    250,000 objects that live as long as the process. Python's full collection walks every
    one of them each time it runs, which took 115-145 ms here, in the middle of whichever
    request triggered it: a page's p95 over ten requests was that pause (issue 16). Frozen,
    they are never walked again; what requests create is collected as before."""
    get_resolver().url_patterns  # noqa: B018 - the property imports every view
    gc.freeze()
