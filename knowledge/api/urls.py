"""``/api/v1/knowledge/``: the knowledge base's REST API (namespace ``knowledge-api``),
mounted by the portal from ``portal.registry.api_mounts`` (registered in the app's ``ready()``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "knowledge-api"

urlpatterns: list[URLPattern | URLResolver] = []
