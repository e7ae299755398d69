"""``/api/v1/crm/``: the CRM's REST API (namespace ``crm-api``), mounted by the portal from
``portal.registry.api_mounts`` (registered in the app's ``ready()``); each area lists its own
patterns (``crm/api/<area>.py``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from crm.api import accounts, campaigns, cases, quotes, sales

app_name = "crm-api"

urlpatterns: list[URLPattern | URLResolver] = [
    *accounts.urlpatterns,
    *sales.urlpatterns,
    *quotes.urlpatterns,
    *cases.urlpatterns,
    *campaigns.urlpatterns,
]
