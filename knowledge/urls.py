"""URLs of the knowledge app, mounted by ``portal/urls.py`` under its namespace."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "knowledge"

urlpatterns: list[URLPattern | URLResolver] = []
