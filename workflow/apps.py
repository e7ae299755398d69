from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Workflow")

    def ready(self) -> None:
        from django.core.signals import request_finished

        from portal import registry
        from workflow import demo, participants, tasks
        from workflow.applications import register_builtin_applications
        from workflow.engine import runtime
        from workflow.services import engine
        from workflow.sweep import sweep_after_request

        register_builtin_applications()
        participants.register_functions()
        runtime.TASK_HOOK = participants.assign_task
        engine.QUEUE.announce_tasks = tasks.announce_tasks.delay
        engine.QUEUE.wake_workers = tasks.run_jobs.delay
        request_finished.connect(sweep_after_request, dispatch_uid="workflow-embedded-sweep")
        registry.notification_kinds.register(registry.NotificationKind("workflow", _("Workflow")))
        registry.api_mounts.register(registry.ApiMount("workflow", "workflow.api.urls", "", 10))
        registry.demo_seeders.register(
            registry.DemoSeeder("workflow", demo.seed_workflow_demo, demo.report_workflow_demo, 10)
        )
        registry.navigation.register(
            registry.NavEntry("inbox", _("Inbox"), "workflow:inbox", "inbox", order=10)
        )
        registry.navigation.register(
            registry.NavEntry("catalogue", _("Start a request"), "workflow:catalogue", "plus", 20)
        )
        registry.navigation.register(
            registry.NavEntry(
                "designer",
                _("Process designer"),
                "workflow:designer",
                "pencil",
                800,
                visible=registry.has_perm("workflow.add_processdefinition"),
            )
        )
        registry.navigation.register(
            registry.NavEntry(
                "console",
                _("Monitoring"),
                "workflow:console",
                "activity",
                810,
                visible=registry.has_perm("workflow.manage_processes"),
            )
        )
