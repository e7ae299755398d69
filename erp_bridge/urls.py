"""URLs of the erp_bridge app, mounted by ``portal/urls.py`` under its namespace."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "erp_bridge"

urlpatterns: list[URLPattern | URLResolver] = []
