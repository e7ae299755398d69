"""URLs of the crm app, mounted by ``portal/urls.py`` under its namespace."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "crm"

urlpatterns: list[URLPattern | URLResolver] = []
