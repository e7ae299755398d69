"""URLs of the crm app, mounted by ``portal/urls.py`` under its namespace: each area's
pages list their own patterns (``crm/views/<area>.py``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from crm.views import accounts, analysis, campaigns, cases, quotes, sales

app_name = "crm"

urlpatterns: list[URLPattern | URLResolver] = [
    *accounts.urlpatterns,
    *sales.urlpatterns,
    *analysis.urlpatterns,
    *quotes.urlpatterns,
    *cases.urlpatterns,
    *campaigns.urlpatterns,
]
