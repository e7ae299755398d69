from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Workflow")

    def ready(self) -> None:
        from django.core.signals import request_finished

        from portal import registry
        from workflow.applications import register_builtin_applications
        from workflow.sweep import sweep_after_request

        register_builtin_applications()
        request_finished.connect(sweep_after_request, dispatch_uid="workflow-embedded-sweep")
        registry.notification_kinds.register(registry.NotificationKind("workflow", _("Workflow")))
