"""The monitoring console for process administrators: instances, bulk actions, incidents,
statistics, the job queue."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
