"""URLs of the workflow app (namespace ``workflow``): each page module's own patterns."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from workflow.views import catalogue, console, designer, inbox, tasks

app_name = "workflow"

urlpatterns: list[URLPattern | URLResolver] = [
    *inbox.urlpatterns,
    *tasks.urlpatterns,
    *catalogue.urlpatterns,
    *designer.urlpatterns,
    *console.urlpatterns,
]
