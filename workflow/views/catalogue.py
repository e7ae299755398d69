"""The process catalogue: the processes a person may start, the start form, drafts."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
