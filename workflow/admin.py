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
from unfold.admin import ModelAdmin, TabularInline

from workflow import participants
from workflow.bpmn.model import BpmnError
from workflow.engine.runtime import EngineError
from workflow.forms import DeployForm
from workflow.models import (
    CarbonCopy,
    ExternalTask,
    Incident,
    Job,
    ProcessDefinition,
    ProcessInstance,
    ProcessSettings,
    Task,
)
from workflow.selectors.visibility import may_deploy
from workflow.services import administration
from workflow.services.definitions import definition_deploy


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(ModelAdmin):
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
        if not may_deploy(request.user):  # type: ignore[arg-type]
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


class ReadOnlyAdmin(ModelAdmin):
    """Runtime rows are written by the engine only: administrators look, and act through the
    engine's services (retrying an incident), never by editing a row."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TaskInline(TabularInline):
    model = Task
    fields = ("name", "state", "assignee", "created_at", "due_at", "completed_by", "completed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "definition_key",
        "title",
        "business_key",
        "initiator",
        "state",
        "started_at",
        "ended_at",
    )
    list_filter = ("state", "definition_key", "started_at")
    search_fields = ("=id", "business_key", "title", "initiator")
    readonly_fields = [f.name for f in ProcessInstance._meta.fields]
    inlines = [TaskInline]
    show_full_result_count = False
    actions = ["suspend", "resume"]

    def _each(self, request: HttpRequest, queryset: Any, action: Any, done: str) -> None:
        count = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                action(pk, by=request.user)
            except EngineError as error:
                messages.warning(request, f"#{pk}: {error}")
            else:
                count += 1
        messages.success(request, done % {"count": count})

    @admin.action(description=gettext_lazy("Suspend the selected instances"))
    def suspend(self, request: HttpRequest, queryset: Any) -> None:
        self._each(
            request,
            queryset,
            administration.instance_suspend,
            _("%(count)d instance(s) suspended."),
        )

    @admin.action(description=gettext_lazy("Resume the selected instances"))
    def resume(self, request: HttpRequest, queryset: Any) -> None:
        self._each(
            request, queryset, administration.instance_resume, _("%(count)d instance(s) resumed.")
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm("workflow.manage_processes"):
            actions.pop("suspend", None)
            actions.pop("resume", None)
        return actions


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "definition_key", "state", "assignee", "created_at", "due_at")
    list_filter = ("state", "definition_key")
    search_fields = ("=id", "=instance__id", "assignee", "name")
    readonly_fields = [f.name for f in Task._meta.fields]
    show_full_result_count = False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "element_id", "instance", "due_at", "retries", "locked_by")
    list_filter = ("kind",)
    search_fields = ("=instance__id", "element_id")
    readonly_fields = [f.name for f in Job._meta.fields]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("id", "instance", "element_id", "short_message", "created_at", "resolved_at")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    search_fields = ("=instance__id", "element_id", "message")
    readonly_fields = [f.name for f in Incident._meta.fields]
    actions = ["retry"]

    @admin.display(description=gettext_lazy("error"))
    def short_message(self, obj: Incident) -> str:
        return obj.message[:120]

    @admin.action(description=gettext_lazy("Retry the failed jobs"))
    def retry(self, request: HttpRequest, queryset: Any) -> None:
        if not request.user.has_perm("workflow.change_incident"):
            raise PermissionDenied
        retried = 0
        for incident in queryset.filter(resolved_at__isnull=True):
            try:
                outcome = administration.incident_retry(incident.pk, by=request.user)  # type: ignore[arg-type]
            except EngineError as error:
                messages.warning(request, str(error))
                continue
            if outcome.succeeded:
                retried += 1
            else:
                reason = (outcome.error.splitlines() or [""])[0][:300]
                text = _("Retry failed: %(reason)s") % {"reason": reason}
                messages.error(request, f"#{incident.pk}: {text}")
        if retried:
            messages.success(
                request,
                _("%(count)d job(s) ran again successfully.") % {"count": retried},
            )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm("workflow.change_incident"):
            actions.pop("retry", None)
        return actions


@admin.register(ProcessSettings)
class ProcessSettingsAdmin(ModelAdmin):
    list_display = ("key", "category", "reject", "empty_assignee", "default_due", "timeout")
    list_filter = ("category",)
    search_fields = ("key", "category", "description")
    filter_horizontal = ("starter_roles", "starter_departments")
    # what the duration fields take, where the model's help text says less (it cannot change
    # without a migration); the console's settings form says the same
    help_texts = {
        "default_due": gettext_lazy(
            "An ISO 8601 duration: P2D (2 days), PT8H (8 hours), PT30M, PT45S; empty: no due date."
        ),
        "remind_before": gettext_lazy(
            "How long before the due time the handler is reminded, e.g. PT4H."
        ),
    }

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        for name, text in self.help_texts.items():
            if name in form.base_fields:
                form.base_fields[name].help_text = text
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        participants.forget_settings()


@admin.register(CarbonCopy)
class CarbonCopyAdmin(ReadOnlyAdmin):
    list_display = ("id", "instance", "user", "sent_by", "created_at", "read_at")
    search_fields = ("=instance__id", "user__username")
    readonly_fields = [f.name for f in CarbonCopy._meta.fields]


@admin.register(ExternalTask)
class ExternalTaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "source", "external_id", "title", "assignee", "state", "updated_at")
    list_filter = ("source", "state")
    search_fields = ("external_id", "title", "assignee__username")
    readonly_fields = [f.name for f in ExternalTask._meta.fields]
