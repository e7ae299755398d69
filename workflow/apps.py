from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Workflow")

    def ready(self) -> None:
        from django.core.signals import request_finished

        from portal import registry
        from workflow import demo, participants, portlets, tasks
        from workflow.applications import register_builtin_applications
        from workflow.engine import runtime
        from workflow.selectors import visibility
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
        for portlet in (
            registry.Portlet(
                "workflow-todo",
                _("My to-dos"),
                "workflow/portlets/todo.html",
                portlets.todo_context,
                order=1,
                wide=True,
            ),
            registry.Portlet(
                "workflow-quick-start",
                _("Quick start"),
                "workflow/portlets/quick_start.html",
                portlets.quick_start_context,
                order=2,
            ),
            registry.Portlet(
                "workflow-requests",
                _("My requests"),
                "workflow/portlets/requests.html",
                portlets.requests_context,
                order=3,
                wide=True,
            ),
            registry.Portlet(
                "workflow-copies",
                _("CC'd to me, unread"),
                "workflow/portlets/copies.html",
                portlets.copies_context,
                order=4,
            ),
        ):
            registry.portlets.register(portlet)
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
                visible=lambda user: bool(user.is_authenticated and visibility.may_deploy(user)),
                group="manage",
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
                group="manage",
            )
        )
