"""URLs of the workflow app, mounted by ``portal/urls.py`` under its namespace."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "workflow"

urlpatterns: list[URLPattern | URLResolver] = []
