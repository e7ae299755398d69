"""Django admin for the workflow: process definitions (read-only) and deploying a file."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from workflow.bpmn.model import BpmnError
from workflow.forms import DeployForm
from workflow.models import ProcessDefinition
from workflow.services import definition_deploy


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(admin.ModelAdmin):
    list_display = ("key", "version", "name", "source_name", "deployed_at", "deployed_by")
    list_filter = ("key", "deployed_at")
    search_fields = ("key", "name", "description")
    readonly_fields = [f.name for f in ProcessDefinition._meta.fields]
    change_list_template = "admin/workflow/processdefinition/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # definitions are deployed, not typed in

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a deployed version never changes

    def get_urls(self) -> list[URLPattern]:
        deploy = self.admin_site.admin_view(self.deploy_view)
        return [
            path("deploy/", deploy, name="workflow_processdefinition_deploy"),
            *super().get_urls(),
        ]

    def deploy_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("workflow.add_processdefinition"):
            raise PermissionDenied
        form = DeployForm(request.POST, request.FILES) if request.method == "POST" else DeployForm()
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                results = definition_deploy(
                    xml=upload,
                    deployed_by=request.user,  # type: ignore[arg-type]
                    source_name=str(getattr(request.FILES.get("file"), "name", "") or ""),
                )
            except BpmnError as exc:
                for problem in exc.problems:
                    form.add_error(
                        "file", f"{problem.element_id or _('the file')}: {problem.message}"
                    )
            else:
                for result in results:
                    if result.created:
                        text = _("%(key)s: version %(version)d deployed.")
                    else:
                        text = _("%(key)s: unchanged (same as version %(version)d).")
                    messages.success(request, text % {"key": result.key, "version": result.version})
                return redirect("admin:workflow_processdefinition_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": gettext_lazy("Deploy a BPMN file"),
        }
        return TemplateResponse(request, "admin/workflow/processdefinition/deploy.html", context)
