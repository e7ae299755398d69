"""WSGI entry point (gunicorn portal.wsgi).

After the application is loaded, what the worker holds for its whole life (modules, models,
settings: about 160,000 objects) is moved out of the garbage collector's
sweeps (``gc.freeze``), and the youngest generation is collected every 5,000 allocations
instead of 700. With Python's defaults a full collection walked all of them every dozen
inbox pages, 60-190 ms in one request (its p95 at 1M tasks), about 2 ms per request on
average; now 0.3 ms, the longest pause 10 ms (a collection of the youngest two
generations). A larger threshold collects less often but longer: at 50,000 each pause of
the youngest generation took 20-24 ms (issue 16, bench/RESULTS.md). A request's own
objects still die by their reference counts; only cycles wait for a collection.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

GC_THRESHOLD = (5_000, 10, 10)
gc.freeze()
gc.set_threshold(*GC_THRESHOLD)
