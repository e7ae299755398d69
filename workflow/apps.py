from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Workflow")

    def ready(self) -> None:
        from portal import registry
        from workflow.applications import register_builtin_applications

        register_builtin_applications()
        registry.notification_kinds.register(registry.NotificationKind("workflow", _("Workflow")))
