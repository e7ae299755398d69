"""URLs of the erp_bridge app, mounted by ``portal/urls.py`` under its namespace."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from erp_bridge import views, webhook_views

app_name = "erp_bridge"

urlpatterns: list[URLPattern | URLResolver] = [
    # inbound status webhooks from the ERP (signed; no login): erp_bridge/webhooks.py
    path("webhooks/<slug:source>/", webhook_views.webhook, name="webhook"),
    # the integration console (integration administrators): erp_bridge/views.py
    *views.urlpatterns,
]
