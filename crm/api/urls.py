"""``/api/v1/crm/``: the CRM's REST API (namespace ``crm-api``), mounted by the
portal from ``portal.registry.api_mounts`` (registered in the app's ``ready()``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "crm-api"

urlpatterns: list[URLPattern | URLResolver] = []
