"""URLs of the workflow app (namespace ``workflow``): each page module's own patterns."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from workflow.views import (
    catalogue,
    console,
    designer,
    exports,
    form_fields,
    inbox,
    phrases,
    printout,
    processes,
    signatures,
    task_pages,
)

app_name = "workflow"

urlpatterns: list[URLPattern | URLResolver] = [
    *inbox.urlpatterns,
    *signatures.urlpatterns,
    *exports.urlpatterns,
    # before the task pages: their instances/<id>/<action>/ would take print/ for an action
    *printout.urlpatterns,
    *task_pages.urlpatterns,
    *phrases.urlpatterns,
    *catalogue.urlpatterns,
    *form_fields.urlpatterns,
    *designer.urlpatterns,
    *console.urlpatterns,
    *processes.urlpatterns,
]
