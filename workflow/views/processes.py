"""The console's processes: every deployed process, and each one's page with its versions
and settings (who may start it, rejection and resubmission, time-outs, due times, the copy
at the end, category and icon).

Process administrators only (``visibility.is_process_admin``), as the rest of the console:
anyone else signed in gets a 403. A key that is not deployed is a 404. The form validates as
Django admin does (the model's ``clean()``); ``process_settings.process_settings_update``
saves it.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from portal.http import signed_in
from workflow.icons import ICON_NAMES
from workflow.models import ProcessDefinition, ProcessSettings
from workflow.selectors import catalogue, visibility
from workflow.services import process_settings
from workflow.views.console import admin_required
from workflow.views.process_forms import ProcessSettingsForm


@admin_required
@require_GET
def process_list(request: HttpRequest) -> HttpResponse:
    """Every deployed process with its latest version and who may start it."""
    context = {"processes": catalogue.managed_processes(), "tab": "processes"}
    return render(request, "workflow/console_processes.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def process_page(request: HttpRequest, key: str) -> HttpResponse:
    """One process: its versions (the designer opens the latest) and its settings form."""
    versions = list(
        ProcessDefinition.objects.filter(key=key)
        .select_related("deployed_by")
        .only("id", "key", "version", "name", "deployed_at", "source_name", "deployed_by")
        .order_by("-version")
    )
    if not versions:
        raise Http404
    row = ProcessSettings.objects.filter(key=key).first() or ProcessSettings(key=key)
    form = ProcessSettingsForm(request.POST or None, instance=row)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                process_settings.process_settings_update(
                    key=key, by=signed_in(request), changes=form.changes()
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The settings have been saved."))
                return HttpResponseRedirect(
                    reverse("workflow:console_process", args=[key]), status=303
                )
        messages.error(request, _("Please correct the errors below; nothing has been changed."))
        status = 400
    user = signed_in(request)
    context = {
        "key": key,
        "latest": versions[0],
        "versions": versions,
        "form": form,
        "may_deploy": visibility.may_deploy(user),
        "icon_names": ICON_NAMES,
        "tab": "processes",
    }
    return render(request, "workflow/console_process.html", context, status=status)


urlpatterns: list[URLPattern | URLResolver] = [
    path("console/processes/", process_list, name="console_processes"),
    path("console/processes/<str:key>/", process_page, name="console_process"),
]
