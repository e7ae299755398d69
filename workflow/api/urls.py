"""``/api/v1/``: the workflow's REST API (namespace ``api``), mounted by the portal
(``portal.registry.api_mounts``); an address no app serves is the portal's API 404."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from workflow.api import designer, process_settings, views

app_name = "api"

instance_actions = {
    "withdraw": views.InstanceWithdrawApi,
    "cancel": views.InstanceCancelApi,
    "urge": views.InstanceUrgeApi,
    "copy": views.InstanceCopyApi,
    "read": views.InstanceReadApi,
    "comments": views.InstanceCommentApi,
    "attachments": views.InstanceAttachmentApi,
    "suspend": views.InstanceSuspendApi,
    "resume": views.InstanceResumeApi,
    "terminate": views.InstanceTerminateApi,
    "move": views.InstanceMoveApi,
    "migrate": views.InstanceMigrateApi,
}
task_actions = {
    "claim": views.TaskClaimApi,
    "unclaim": views.TaskUnclaimApi,
    "approve": views.TaskApproveApi,
    "reject": views.TaskRejectApi,
    "return": views.TaskReturnApi,
    "transfer": views.TaskTransferApi,
    "delegate": views.TaskDelegateApi,
    "resolve": views.TaskResolveApi,
    "add-signers": views.TaskAddSignersApi,
    "remove-signer": views.TaskRemoveSignerApi,
    "reassign": views.TaskReassignApi,
}

urlpatterns: list[URLPattern | URLResolver] = [
    path("definitions/", views.DefinitionListApi.as_view(), name="definitions"),
    path(
        "definitions/validate",
        designer.DefinitionValidateApi.as_view(),
        name="definitions-validate",
    ),
    path(
        "definitions/simulate",
        designer.DefinitionSimulateApi.as_view(),
        name="definitions-simulate",
    ),
    path("definitions/<str:key>/xml", views.DefinitionXmlApi.as_view(), name="definition-xml"),
    path(
        "processes/<str:key>/settings",
        process_settings.ProcessSettingsApi.as_view(),
        name="process-settings",
    ),
    path(
        "definitions/<str:key>/translations",
        designer.DefinitionTranslationsApi.as_view(),
        name="definition-translations",
    ),
    path("instances/", views.InstanceListApi.as_view(), name="instances"),
    path("instances/<int:instance_id>", views.InstanceDetailApi.as_view(), name="instance-detail"),
    path(
        "instances/<int:instance_id>/diagram",
        views.InstanceDiagramApi.as_view(),
        name="instance-diagram",
    ),
    *[
        path(f"instances/<int:instance_id>/{action}", view.as_view(), name=f"instance-{action}")
        for action, view in instance_actions.items()
    ],
    path("tasks/", views.TaskListApi.as_view(), name="tasks"),
    path("tasks/<int:task_id>", views.TaskDetailApi.as_view(), name="task-detail"),
    path(
        "tasks/<int:task_id>/return-targets",
        views.TaskReturnTargetsApi.as_view(),
        name="task-return-targets",
    ),
    *[
        path(f"tasks/<int:task_id>/{action}", view.as_view(), name=f"task-{action}")
        for action, view in task_actions.items()
    ],
    path("phrases/", views.PhraseListApi.as_view(), name="phrases"),
    path("phrases/<int:phrase_id>", views.PhraseDetailApi.as_view(), name="phrase-detail"),
    path("incidents/", views.IncidentListApi.as_view(), name="incidents"),
    path(
        "incidents/<int:incident_id>/retry", views.IncidentRetryApi.as_view(), name="incident-retry"
    ),
    path("external-tasks/mine", views.ExternalTaskMineApi.as_view(), name="external-tasks-mine"),
    path(
        "external-tasks/<str:source>/<str:external_id>",
        views.ExternalTaskUpsertApi.as_view(),
        name="external-task",
    ),
    path(
        "external-tasks/<str:source>/<str:external_id>/close",
        views.ExternalTaskCloseApi.as_view(),
        name="external-task-close",
    ),
    path(
        "external-tasks/<str:source>/<str:external_id>/replace",
        views.ExternalTaskReplaceApi.as_view(),
        name="external-task-replace",
    ),
]
