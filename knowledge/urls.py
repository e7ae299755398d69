"""URLs of the knowledge app, mounted by ``portal/urls.py`` at ``/knowledge/`` under its
namespace; the pages' own patterns live beside their views (``knowledge.views``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from knowledge import views

app_name = "knowledge"

urlpatterns: list[URLPattern | URLResolver] = [*views.urlpatterns]
