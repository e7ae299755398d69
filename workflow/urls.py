"""URLs of the workflow app (namespace ``workflow``): each page module's own patterns."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from workflow.views import catalogue, console, designer, inbox, task_pages

app_name = "workflow"

urlpatterns: list[URLPattern | URLResolver] = [
    *inbox.urlpatterns,
    *task_pages.urlpatterns,
    *catalogue.urlpatterns,
    *designer.urlpatterns,
    *console.urlpatterns,
]
