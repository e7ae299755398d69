"""``/api/v1/erp_bridge/``: the ERP bridge's REST API (namespace ``erp_bridge-api``), mounted by the
portal from ``portal.registry.api_mounts`` (registered in the app's ``ready()``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "erp_bridge-api"

urlpatterns: list[URLPattern | URLResolver] = []
