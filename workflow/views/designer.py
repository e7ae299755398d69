"""The process designer: the bpmn-js modeler, validate, simulate, deploy.

The page is a shell around the modeler bundle (``frontend/designer/``, built by ``make setup``
into ``var/frontend/designer/``); everything it does goes through the REST API with the
session: ``GET /api/v1/definitions/<key>/xml`` to open a deployed process,
``POST /api/v1/definitions/validate`` and ``/simulate`` (``workflow.api.designer``),
``POST /api/v1/definitions/`` to deploy, ``GET``/``PUT /api/v1/definitions/<key>/translations``
for the translations panel. The modeler and its properties panel speak the page's language
(``frontend/designer/i18n.js``). Only people who may deploy
(``visibility.may_deploy``: ``workflow.add_processdefinition`` or a process administrator)
use it: anyone else signed in gets 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.http import signed_in
from workflow.models import ProcessDefinition
from workflow.selectors.visibility import may_deploy

BUNDLE = "designer/designer.js"
KEY_PLACEHOLDER = "__KEY__"


def deployed_processes() -> list[dict[str, Any]]:
    """Each deployed process key once, with its latest version's name and number, by key."""
    latest: dict[str, dict[str, Any]] = {}
    for row in ProcessDefinition.objects.order_by("key", "-version").values(
        "key", "name", "version"
    ):
        latest.setdefault(row["key"], dict(row))
    return list(latest.values())


def _labels() -> dict[str, Any]:
    """What the page's script says, in the user's language (%(name)s: filled in by it)."""
    return {
        "untitled": _("New diagram"),
        "opened": _("Opened %(name)s."),
        "import_failed": _("The diagram cannot be opened:"),
        "import_warnings": _("Opened with warnings:"),
        "discard_changes": _("Discard the changes to this diagram?"),
        "network_error": _("The server cannot be reached. Try again."),
        "request_failed": _("The request failed."),
        "valid": _("No problems found: the process can be deployed."),
        "invalid": _("%(count)s problem(s) found; they are marked on the diagram."),
        "whole_file": _("File"),
        "deploy_confirm": _("Deploy this diagram as a new version?"),
        "deployed_version": _("Deployed %(key)s version %(version)s."),
        "unchanged_version": _(
            "No changes: no new version was made (%(key)s stays at version %(version)s)."
        ),
        "translations_saved": _("Translations saved."),
        "translations_failed": _("The translations were not saved:"),
        "translations_process": _("Process"),
        "translations_language": _("Translation (%(language)s)"),
        "translations_source": _("In the diagram"),
        "kinds": {
            "process": _("Process name"),
            "description": _("Description"),
            "category": _("Category"),
            "step": _("Step"),
            "field": _("Field"),
            "option": _("Option"),
        },
        "bad_json": _("%(what)s is not valid JSON: %(error)s"),
        "not_an_object": _('%(what)s must be a JSON object, e.g. {"amount": 100}.'),
        "start_variables": _("Start variables"),
        "task_data": _("Task data"),
        "simulated": _("Simulation finished: %(state)s."),
        "result_process": _("Process"),
        "result_state": _("Outcome"),
        "result_error": _("Error"),
        "result_waiting": _("Waiting at"),
        "result_path": _("Path"),
        "result_user_tasks": _("User tasks completed"),
        "result_steps": _("Steps"),
        "result_notes": _("Notes"),
        "result_variables": _("Variables at the end"),
        "states": {
            "completed": _("completed"),
            "terminated": _("terminated"),
            "waiting": _("waiting"),
            "error": _("error"),
        },
    }


@login_required
@require_GET
def designer(request: HttpRequest) -> HttpResponse:
    """The designer; ``?key=<process key>`` opens that process's latest version."""
    if not may_deploy(signed_in(request)):
        raise PermissionDenied
    processes = deployed_processes()
    key = request.GET.get("key", "")
    initial_key = key if any(p["key"] == key for p in processes) else ""
    config = {
        "urls": {
            "xml": reverse("api:definition-xml", args=[KEY_PLACEHOLDER]),
            "validate": reverse("api:definitions-validate"),
            "simulate": reverse("api:definitions-simulate"),
            "deploy": reverse("api:definitions"),
            "translations": reverse("api:definition-translations", args=[KEY_PLACEHOLDER]),
        },
        "language": get_language() or "",
        "csrfToken": get_token(request),
        "initialKey": initial_key,
        "labels": _labels(),
    }
    context = {
        "processes": processes,
        "initial_key": initial_key,
        "unknown_key": key if key and not initial_key else "",
        "bundle_ready": finders.find(BUNDLE) is not None,
        "designer_config": config,
    }
    return render(request, "workflow/designer.html", context)


urlpatterns: list[URLPattern | URLResolver] = [
    path("designer/", designer, name="designer"),
]
