"""The task page and the instance page: form, business data, diagram, history, attachments,
actions."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
