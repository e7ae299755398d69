"""The workflow's REST API (``/api/v1/``): one view per action, each validating its input with
a serializer and calling a service (``workflow.services``, ``workflow.approvals``,
``workflow.external``) or a selector (``workflow.selectors``).

What a caller may not see answers 404: every instance and task is looked up through
``instances_for(user)`` / ``task_for(user, id)``. Errors answer with the one body of
``portal.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar, TypeVar, cast

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import (
    KEYSET_PARAMETERS,
    JSONParser,
    KeysetPage,
    Unprocessable,
    error_responses,
)
from portal.http import signed_in
from portal.keyset import Source
from portal.models import User
from workflow.api import serializers as s
from workflow.bpmn.render import RenderError, render_svg
from workflow.engine.cache import graph_for_definition
from workflow.forms import form_for, json_value
from workflow.models import (
    Attachment,
    Comment,
    Execution,
    ExternalTask,
    HistoryEvent,
    Incident,
    InstanceState,
    Phrase,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskState,
)
from workflow.selectors import actions, inbox, timeline, visibility
from workflow.selectors import phrases as phrase_reads
from workflow.selectors.catalogue import hidden_processes
from workflow.selectors.status import statuses
from workflow.selectors.visibility import copies_of
from workflow.services import administration, approvals, definitions, external
from workflow.services import phrases as phrase_services
from workflow.services.starts import IdempotencyKeyReused, request_submit
from workflow.signatures import signature_mode

_V = TypeVar("_V", bound=APIView)
TAGS_DEFINITIONS = ["definitions"]
TAGS_INSTANCES = ["instances"]
TAGS_TASKS = ["tasks"]
TAGS_INCIDENTS = ["incidents"]
TAGS_EXTERNAL = ["unified to-do"]


def require_permission(request: Request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise exceptions.PermissionDenied()


def require_deployer(request: Request) -> None:
    """Designing and deploying: process designers and process administrators
    (``visibility.may_deploy``)."""
    if not visibility.may_deploy(signed_in(request)):
        raise exceptions.PermissionDenied()


def _renamed(error: ValidationError, names: dict[str, str]) -> ValidationError:
    """A service's field error under the name the API's input calls the field."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError({names.get(k, k): v for k, v in error.error_dict.items()})


def _instance(user: User, instance_id: int) -> ProcessInstance:
    instance = visibility.instance_for(user, instance_id)
    if instance is None:
        raise Http404
    return instance


def _task(user: User, task_id: int) -> Task:
    task = visibility.task_for(user, task_id)
    if task is None:
        raise Http404
    return task


def _action(operation: str, summary: str, **extra: Any) -> Callable[[type[_V]], type[_V]]:
    """Document an action view's POST; its request body is its ``input_serializer``."""

    def decorate(view: type[_V]) -> type[_V]:
        options = {"request": getattr(view, "input_serializer", None), **extra}
        documented = extend_schema(operation_id=operation, summary=summary, **options)
        return extend_schema_view(post=documented)(view)

    return decorate


# --- definitions --------------------------------------------------------------------------------


class DefinitionListApi(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        tags=TAGS_DEFINITIONS,
        operation_id="definitions_list",
        summary="Deployed processes: each key's latest version, with every version",
        responses={200: s.DefinitionSerializer(many=True), **error_responses(403)},
    )
    def get(self, request: Request) -> Response:
        rows = (
            ProcessDefinition.objects.defer("xml")
            .select_related("deployed_by")
            .exclude(key__in=hidden_processes(signed_in(request)))
            .order_by("key", "-version")
        )
        by_key: dict[str, list[ProcessDefinition]] = {}
        for row in rows:
            by_key.setdefault(row.key, []).append(row)
        data = [
            {
                "key": key,
                "name": versions[0].name,
                "description": versions[0].description,
                "version": versions[0].version,
                "id": versions[0].pk,
                "deployed_at": versions[0].deployed_at,
                "versions": versions,
            }
            for key, versions in by_key.items()
        ]
        return Response(s.DefinitionSerializer(data, many=True).data)

    @extend_schema(
        tags=TAGS_DEFINITIONS,
        operation_id="definitions_deploy",
        summary=(
            "Deploy a BPMN file (needs workflow.add_processdefinition or workflow.manage_processes)"
        ),
        description=(
            "Every executable process of the file, all or nothing. A process whose latest "
            "version has the same XML is left unchanged (201 when anything was deployed, "
            "200 otherwise). A file that cannot be deployed answers 400 `invalid_bpmn` with "
            "every problem, each naming its element."
        ),
        request={
            "multipart/form-data": s.DefinitionFileInputSerializer,
            "application/json": s.DefinitionXmlInputSerializer,
        },
        responses={
            201: s.DeployedSerializer(many=True),
            200: s.DeployedSerializer(many=True),
            **error_responses(400, 403),
        },
    )
    def post(self, request: Request) -> Response:
        require_deployer(request)
        xml: bytes | str
        if "file" in request.FILES:
            upload = s.DefinitionFileInputSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            xml = upload.validated_data["file"]
            source_name = getattr(request.FILES["file"], "name", "") or ""
        else:
            text = s.DefinitionXmlInputSerializer(data=request.data)
            text.is_valid(raise_exception=True)
            xml = text.validated_data["xml"]
            source_name = text.validated_data["source_name"]
        deployed = definitions.definition_deploy(
            xml=xml, deployed_by=signed_in(request), source_name=source_name
        )
        data = s.DeployedSerializer(deployed, many=True).data
        return Response(data, status=201 if any(d.created for d in deployed) else 200)


class DefinitionXmlApi(APIView):
    @extend_schema(
        tags=TAGS_DEFINITIONS,
        operation_id="definitions_xml",
        summary="The BPMN XML of a process (for the designer)",
        description=(
            "Needs workflow.view_processdefinition, workflow.add_processdefinition or "
            "workflow.manage_processes."
        ),
        parameters=[OpenApiParameter("version", int, description="default: the latest")],
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="BPMN 2.0"),
            **error_responses(400, 403, 404),
        },
    )
    def get(self, request: Request, key: str) -> HttpResponse:
        user = signed_in(request)
        if not (user.has_perm("workflow.view_processdefinition") or visibility.may_deploy(user)):
            raise exceptions.PermissionDenied()
        versions = ProcessDefinition.objects.filter(key=key).order_by("-version")
        version = request.query_params.get("version")
        if version:
            if not version.isdigit():
                raise exceptions.ValidationError({"version": [_("Give a version number.")]})
            versions = versions.filter(version=int(version))
        definition = versions.only("xml", "key", "version").first()
        if definition is None:
            raise Http404
        response = HttpResponse(definition.xml, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = (
            f'inline; filename="{definition.key}.v{definition.version}.bpmn"'
        )
        return response


# --- instances ----------------------------------------------------------------------------------


class InstanceListApi(APIView):
    @extend_schema(
        tags=TAGS_INSTANCES,
        operation_id="instances_list",
        summary="Instances the caller may see, newest first",
        parameters=[
            OpenApiParameter("state", str, enum=[c for c, _n in InstanceState.choices]),
            OpenApiParameter("process", str, description="a process key"),
            OpenApiParameter("started_by_me", bool),
            *KEYSET_PARAMETERS,
        ],
        responses={200: s.InstancePageSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        rows = visibility.instances_for(user).select_related("definition")
        params = request.query_params
        if params.get("state"):
            rows = rows.filter(state=params["state"])
        if params.get("process"):
            rows = rows.filter(definition_key=params["process"])
        if params.get("started_by_me") in ("1", "true", "True"):
            rows = rows.filter(initiator=user.username)
        page = KeysetPage(request)
        found = page.rows(Source(rows, field="started_at"))
        return page.response(
            s.InstanceSerializer(
                found, many=True, context={"request": request, "statuses": statuses(found)}
            ).data
        )

    @extend_schema(
        tags=TAGS_INSTANCES,
        operation_id="instances_start",
        summary="Start the latest version of a process",
        description=(
            "With an `Idempotency-Key` header, a repeated request (same caller, same key, "
            "same body) answers 200 with the instance the first one started instead of "
            "starting another; the same key with another body answers 422 "
            "`idempotency_key_reused`."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                description="any unique text of at most 255 characters, e.g. a UUID",
            )
        ],
        request=s.InstanceStartInputSerializer,
        responses={
            201: s.InstanceSerializer,
            200: OpenApiResponse(s.InstanceSerializer, description="started before (same key)"),
            **error_responses(400, 403, 409, 422),
        },
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": [_("At most 255 characters.")]})
        start = s.InstanceStartInputSerializer(data=request.data, context={"request": request})
        start.is_valid(raise_exception=True)
        given = start.validated_data
        try:
            instance_id, created = request_submit(
                user=signed_in(request),
                key=given["process_key"],
                data=given["variables"],
                title=given["title"],
                business_key=given["business_key"],
                idempotency_key=key,
                urgent=given["urgent"],
            )
        except IdempotencyKeyReused as error:
            raise Unprocessable(str(error), code="idempotency_key_reused") from error
        instance = ProcessInstance.objects.select_related("definition").get(pk=instance_id)
        data = s.InstanceSerializer(instance, context={"request": request}).data
        return Response(data, status=201 if created else 200)


# The engine's own history rows: an element passed (gateways, events, activities) and a
# task created (its completion or cancellation is a row of its own).
ENGINE_HISTORY_KINDS = ("activity", "task-created")


class InstanceDetailApi(APIView):
    @extend_schema(
        tags=TAGS_INSTANCES,
        operation_id="instances_retrieve",
        summary="An instance with its history, open tasks, comments and attachments",
        description=(
            "The history lists what people and the process did; the engine's own bookkeeping "
            "(a row per element passed — gateways, events, activities — and per task "
            "created) is left out unless `all=true`."
        ),
        parameters=[
            OpenApiParameter(
                "all", bool, description="true: the history with the engine's own rows too"
            )
        ],
        responses={200: s.InstanceDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, instance_id: int) -> Response:
        instance = _instance(signed_in(request), instance_id)
        history = HistoryEvent.objects.filter(instance_id=instance.pk).order_by("at", "id")
        if request.query_params.get("all") not in ("1", "true", "True"):
            history = history.exclude(kind__in=ENGINE_HISTORY_KINDS)
        detail = SimpleNamespace(
            **{field.attname: getattr(instance, field.attname) for field in instance._meta.fields},
            pk=instance.pk,
            definition=instance.definition,
            history=history,
            open_tasks=Task.objects.filter(instance=instance, state=TaskState.OPEN)
            .prefetch_related("candidates")
            .order_by("created_at", "id"),
            comments=Comment.objects.filter(instance=instance)
            .select_related("author")
            .order_by("created_at", "id"),
            attachments=Attachment.objects.filter(instance=instance)
            .select_related("uploaded_by")
            .order_by("created_at", "id"),
            copies=copies_of(instance),
        )
        return Response(s.InstanceDetailSerializer(detail, context={"request": request}).data)


class InstanceDiagramApi(APIView):
    @extend_schema(
        tags=TAGS_INSTANCES,
        operation_id="instances_diagram",
        summary="The instance's diagram as SVG: waiting steps, passed steps and failures marked",
        responses={
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.STR, description="SVG"),
            **error_responses(404),
        },
    )
    def get(self, request: Request, instance_id: int) -> HttpResponse:
        instance = _instance(signed_in(request), instance_id)
        graph = graph_for_definition(instance.definition_id)
        try:
            svg = render_svg(
                graph.definitions,
                highlight=timeline.instance_highlight(instance),
                title=instance.title or None,
            )
        except RenderError as error:
            raise exceptions.NotFound(_("This process has no diagram.")) from error
        return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


# --- instance actions -----------------------------------------------------------------------------


class InstanceActionApi(APIView):
    """An action on an instance the caller may see: validate :attr:`input_serializer`, call
    :meth:`act`, answer with the instance as it is now."""

    input_serializer: ClassVar[type[serializers.Serializer[Any]] | None] = None
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    # each action view defines act(self, instance_id, user, data): the approvals call
    act: Callable[..., Any]

    def answer(self, request: Request, instance_id: int, result: Any) -> Response:
        instance = ProcessInstance.objects.select_related("definition").get(pk=instance_id)
        return Response(s.InstanceSerializer(instance, context={"request": request}).data)

    @extend_schema(
        tags=TAGS_INSTANCES,
        description="Answers with the instance as it is after the action.",
        request=None,
        responses={200: s.InstanceSerializer, **error_responses(400, 403, 404, 409, 422)},
    )
    def post(self, request: Request, instance_id: int) -> Response:
        user = signed_in(request)
        instance = _instance(user, instance_id)
        data: dict[str, Any] = {}
        if self.input_serializer is not None:
            given = self.input_serializer(data=request.data)
            given.is_valid(raise_exception=True)
            data = dict(given.validated_data)
        result = self.act(instance.pk, user, data)
        return self.answer(request, instance.pk, result)


@_action("instances_withdraw", "撤回 Withdraw: the last step comes back to who completed it")
class InstanceWithdrawApi(InstanceActionApi):
    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        approvals.instance_withdraw(instance_id, user=user)


@_action("instances_cancel", "撤销 Cancel (the initiator): the instance ends as cancelled")
class InstanceCancelApi(InstanceActionApi):
    input_serializer = s.RequiredReasonInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        approvals.instance_cancel(instance_id, user=user, reason=data["reason"])


@_action(
    "instances_urge",
    "催办 Urge the current handlers (the initiator)",
    description="Answers with the user names of the handlers reminded.",
    responses={200: s.PeopleResultSerializer, **error_responses(400, 404, 409)},
)
class InstanceUrgeApi(InstanceActionApi):
    input_serializer = s.CommentInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        return approvals.instance_urge(instance_id, user=user, comment=data["comment"])

    def answer(self, request: Request, instance_id: int, result: Any) -> Response:
        return Response(s.PeopleResultSerializer({"people": result}).data)


@_action(
    "instances_copy",
    "抄送 Copy people in (the initiator or a current handler)",
    description="Answers with the user names newly copied (nobody is copied twice).",
    responses={200: s.PeopleResultSerializer, **error_responses(400, 404, 409)},
)
class InstanceCopyApi(InstanceActionApi):
    input_serializer = s.CopyInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        return approvals.instance_copy(
            instance_id, user=user, recipients=data["recipients"], comment=data["comment"]
        )

    def answer(self, request: Request, instance_id: int, result: Any) -> Response:
        return Response(s.PeopleResultSerializer({"people": result}).data)


@_action("instances_read", "Mark a copy (抄送) of the instance as read")
class InstanceReadApi(InstanceActionApi):
    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        approvals.copy_mark_read(instance_id, user=user)


@_action(
    "instances_comments_create",
    "Write a comment on the instance",
    description="Answers 201 with the comment.",
    responses={201: s.CommentSerializer, **error_responses(400, 404, 409)},
)
class InstanceCommentApi(InstanceActionApi):
    input_serializer = s.CommentAddInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        try:
            return approvals.comment_add(
                instance_id, user=user, text=data["text"], task_id=data["task_id"]
            )
        except ValidationError as error:
            raise _renamed(error, {"task": "task_id"}) from error

    def answer(self, request: Request, instance_id: int, result: Any) -> Response:
        return Response(s.CommentSerializer(result).data, status=201)


@_action(
    "instances_attachments_create",
    "Attach a file to the instance (a participant; size and type are checked)",
    request={"multipart/form-data": s.AttachmentAddInputSerializer},
    description="Answers 201 with the attachment.",
    responses={201: s.AttachmentSerializer, **error_responses(400, 404, 409)},
)
class InstanceAttachmentApi(InstanceActionApi):
    input_serializer = s.AttachmentAddInputSerializer
    parser_classes = [MultiPartParser, FormParser]

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        try:
            return approvals.attachment_add(
                instance_id, user=user, upload=data["upload"], task_id=data["task_id"]
            )
        except ValidationError as error:
            raise _renamed(error, {"task": "task_id", "file": "upload"}) from error

    def answer(self, request: Request, instance_id: int, result: Any) -> Response:
        return Response(s.AttachmentSerializer(result).data, status=201)


@_action("instances_suspend", "Suspend (process administrators)")
class InstanceSuspendApi(InstanceActionApi):
    input_serializer = s.ReasonInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        administration.instance_suspend(instance_id, by=user, reason=data["reason"])


@_action("instances_resume", "Resume a suspended instance (process administrators)")
class InstanceResumeApi(InstanceActionApi):
    input_serializer = s.ReasonInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        administration.instance_resume(instance_id, by=user, reason=data["reason"])


@_action("instances_terminate", "Terminate for good (process administrators)")
class InstanceTerminateApi(InstanceActionApi):
    input_serializer = s.RequiredReasonInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        administration.instance_terminate(instance_id, by=user, reason=data["reason"])


@_action("instances_move", "Move the active steps to another step (process administrators)")
class InstanceMoveApi(InstanceActionApi):
    input_serializer = s.MoveInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        administration.instance_move(
            instance_id, by=user, target=data["target"], reason=data["reason"]
        )


@_action(
    "instances_migrate",
    "Migrate to another version of its process (process administrators)",
    description=(
        "The instance moves when every active step exists in the target version; "
        "otherwise `refused` says why and nothing changes."
    ),
    responses={200: s.MigrationReportSerializer, **error_responses(400, 403, 404, 409)},
)
class InstanceMigrateApi(InstanceActionApi):
    input_serializer = s.MigrateInputSerializer

    def act(self, instance_id: int, user: User, data: dict[str, Any]) -> Any:
        try:
            return administration.instances_migrate(
                [instance_id], by=user, to_definition_id=data["to_definition_id"]
            )
        except ValidationError as error:
            raise _renamed(error, {"to_definition": "to_definition_id"}) from error

    def answer(self, request: Request, instance_id: int, result: Any) -> Response:
        report = {"migrated": result.migrated, "refused": result.refused}
        return Response(s.MigrationReportSerializer(report).data)


# --- tasks ----------------------------------------------------------------------------------------


# Our tasks and external tasks created at the same moment: ours first (higher rank first).
RANK_TASK, RANK_EXTERNAL = inbox.RANK_TASK, inbox.RANK_EXTERNAL


class TaskListApi(APIView):
    @extend_schema(
        tags=TAGS_TASKS,
        operation_id="tasks_list",
        summary="The inbox: 待办 todo, 已办 done, 我发起的 started, 抄送我的 copied",
        description=(
            "The same lists as the inbox page, newest first with keyset pagination "
            "(`next`): todo by arrival, done by completion, started by start, copied by the "
            "time of the copy. The todo tab merges the caller's open external tasks (统一待办, "
            "`kind` = external, `source` = their system, `url` = their page) into the same "
            "list, unless `external=false` or a `process` filter is given (they belong to no "
            "process). The started tab lists instances (`kind` = instance, `created_at` = "
            "started), the copied tab copies (`kind` = copy)."
        ),
        parameters=[s.TaskListQuerySerializer, *KEYSET_PARAMETERS],
        responses={200: s.InboxPageSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        given = s.TaskListQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        query = given.validated_data
        pager = KeysetPage(request)
        page = inbox.inbox_page(
            user,
            query["tab"],
            inbox.InboxFilter.from_mapping(query),
            after=pager.after,
            size=pager.size,
            externals=query["external"],
        )
        pager.next = page.next
        names = visibility.process_names(
            row.definition_key if kind in ("task", "claim", "done") else _instance_of(kind, row)
            for kind, row in page.rows
            if kind != "external"
        )
        items = [
            s.inbox_item(row, kind=API_KINDS[kind], names=names, request=request)
            for kind, row in page.rows
        ]
        return pager.response(s.InboxItemSerializer(items, many=True).data)


# The inbox's kinds of rows as the API names them (a task to claim is a task, as is one done).
API_KINDS = {
    "task": "task",
    "claim": "task",
    "done": "task",
    "external": "external",
    "instance": "instance",
    "copy": "copy",
}


def _instance_of(kind: str, row: Any) -> str:
    return str((row if kind == "instance" else row.instance).definition_key)


_FIELD_TYPES: list[tuple[type[forms.Field], str]] = [
    (forms.BooleanField, "boolean"),
    (forms.IntegerField, "long"),
    (forms.DecimalField, "decimal"),
    (forms.FloatField, "double"),
    (forms.DateTimeField, "datetime"),
    (forms.DateField, "date"),
    (forms.ChoiceField, "enum"),
    (forms.FileField, "file"),
]


def _field_type(field: forms.Field) -> str:
    for field_class, name in _FIELD_TYPES:
        if isinstance(field, field_class):
            return name
    return "string"


def _form_fields(task: Task) -> list[dict[str, Any]]:
    """The step's form as the API describes it: a registered form or the ``formData``
    fields, with the values it would start with."""
    graph = graph_for_definition(task.instance.definition_id)
    element = graph.elements.get(task.element_id)
    if element is None:
        return []
    local = (
        Execution.objects.filter(instance_id=task.instance_id, number=task.execution)
        .values_list("variables", flat=True)
        .first()
    )
    form = form_for(element, variables={**task.instance.variables, **(local or {})})
    described = []
    for name, field in form.fields.items():
        initial = form.get_initial_for_field(field, name)
        try:
            value = json_value(initial)
        except TypeError:
            value = None
        constraints = {
            key: str(getattr(field, key))
            for key in ("min_value", "max_value", "min_length", "max_length")
            if getattr(field, key, None) is not None
        }
        choices = [
            {"id": str(key), "name": str(label)}
            for key, label in getattr(field, "choices", [])
            if key not in ("", None)
        ]
        described.append(
            {
                "id": name,
                "label": str(field.label or name),
                "type": _field_type(field),
                "required": field.required,
                "readonly": field.disabled,
                "value": value,
                "choices": choices,
                "help_text": str(field.help_text or ""),
                "constraints": constraints,
            }
        )
    return described


def _actions(user: User, task: Task) -> list[str]:
    """The action names as the API spells them (the URL segment: ``add-signers``)."""
    return sorted(name.replace("_", "-") for name in actions.task_actions(user, task))


def _task_detail(request: Request, task: Task) -> dict[str, Any]:
    user = signed_in(request)
    task.instance = ProcessInstance.objects.select_related("definition").get(pk=task.instance_id)
    data = {
        field: getattr(task, field)
        for field in (
            "id",
            "name",
            "element_id",
            "state",
            "assignee",
            "owner",
            "delegation",
            "on_behalf_of",
            "signer",
            "priority",
            "created_at",
            "due_at",
            "completed_at",
            "completed_by",
            "outcome",
            "data",
        )
    }
    data["instance"] = task.instance
    data["form_fields"] = _form_fields(task)
    data["added_signers"] = list(
        Task.objects.filter(added_by=task)
        .order_by("pk")
        .values("id", "assignee", "signer", "state")
    )
    data["actions"] = _actions(user, task)
    graph = graph_for_definition(task.instance.definition_id)
    data["signature_mode"] = signature_mode(graph.elements.get(task.element_id))
    data["signature_url"] = (
        request.build_absolute_uri(reverse("workflow:task-signature", args=[task.pk]))
        if task.signature
        else ""
    )
    serializer = s.TaskDetailSerializer(data, context={"request": request})
    return cast(dict[str, Any], serializer.data)  # the stubs take ``data`` for our field


class TaskDetailApi(APIView):
    @extend_schema(
        tags=TAGS_TASKS,
        operation_id="tasks_retrieve",
        summary="A task with its step's form and the actions the caller may take now",
        responses={200: s.TaskDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, task_id: int) -> Response:
        return Response(_task_detail(request, _task(signed_in(request), task_id)))


class TaskReturnTargetsApi(APIView):
    @extend_schema(
        tags=TAGS_TASKS,
        operation_id="tasks_return_targets",
        summary="退回 The steps this task may be returned to",
        responses={200: s.ReturnTargetSerializer(many=True), **error_responses(404)},
    )
    def get(self, request: Request, task_id: int) -> Response:
        task = _task(signed_in(request), task_id)
        targets = [
            {"element_id": element_id, "name": name}
            for element_id, name in actions.return_targets(task)
        ]
        return Response(s.ReturnTargetSerializer(targets, many=True).data)


class TaskActionApi(APIView):
    """An action on a task the caller may see: validate :attr:`input_serializer`, call
    :meth:`act`, answer with the task as it is now (after the action)."""

    input_serializer: ClassVar[type[serializers.Serializer[Any]] | None] = None
    act: ClassVar[Callable[..., Any]]  # the approvals function: act(task_id, user=..., **data)

    @extend_schema(
        tags=TAGS_TASKS,
        description="Answers with the task and its instance as they are after the action.",
        request=None,
        responses={200: s.TaskActionResultSerializer, **error_responses(400, 404, 409, 422)},
    )
    def post(self, request: Request, task_id: int) -> Response:
        user = signed_in(request)
        task = _task(user, task_id)
        data: dict[str, Any] = {}
        if self.input_serializer is not None:
            given = self.input_serializer(data=request.data)
            given.is_valid(raise_exception=True)
            data = dict(given.validated_data)
        self.act(task.pk, user=user, **data)
        after = Task.objects.select_related("instance__definition").get(pk=task.pk)
        result = {"task": after, "instance": after.instance}
        return Response(s.TaskActionResultSerializer(result, context={"request": request}).data)


def _by_user(action: Callable[..., Any]) -> Callable[..., Any]:
    """An approvals action whose acting person is the keyword ``by`` (admin actions)."""

    def call(task_id: int, *, user: User, **data: Any) -> Any:
        return action(task_id, by=user, **data)

    return call


@_action("tasks_claim", "Claim a group task (a candidate)")
class TaskClaimApi(TaskActionApi):
    act = staticmethod(approvals.task_claim)


@_action("tasks_unclaim", "Give a claimed task back to its candidates")
class TaskUnclaimApi(TaskActionApi):
    act = staticmethod(approvals.task_unclaim)


@_action("tasks_approve", "同意 Approve (or submit) with the step's form data")
class TaskApproveApi(TaskActionApi):
    input_serializer = s.ApproveInputSerializer
    act = staticmethod(approvals.task_approve)


@_action("tasks_reject", "驳回 Reject with a reason")
class TaskRejectApi(TaskActionApi):
    input_serializer = s.RejectInputSerializer
    act = staticmethod(approvals.task_reject)


@_action("tasks_return", "退回 Return to the initiator or an earlier step")
class TaskReturnApi(TaskActionApi):
    input_serializer = s.ReturnInputSerializer
    act = staticmethod(approvals.task_return)


@_action("tasks_transfer", "转办 Transfer: someone else owns the decision")
class TaskTransferApi(TaskActionApi):
    input_serializer = s.HandOverInputSerializer
    act = staticmethod(approvals.task_transfer)


@_action("tasks_delegate", "委派 Delegate: someone works on it and hands it back")
class TaskDelegateApi(TaskActionApi):
    input_serializer = s.HandOverInputSerializer
    act = staticmethod(approvals.task_delegate)


@_action("tasks_resolve", "Hand a delegated task back to its owner (the delegate)")
class TaskResolveApi(TaskActionApi):
    input_serializer = s.ResolveInputSerializer
    act = staticmethod(approvals.task_resolve)


@_action("tasks_add_signers", "加签 Add signers before, after or alongside me")
class TaskAddSignersApi(TaskActionApi):
    input_serializer = s.AddSignersInputSerializer
    act = staticmethod(approvals.task_add_signers)


@_action("tasks_remove_signer", "减签 Remove an added signer (this task), before they act")
class TaskRemoveSignerApi(TaskActionApi):
    act = staticmethod(approvals.task_remove_signer)


@_action(
    "tasks_reassign",
    "Give the task to someone (process administrators)",
    responses={
        200: s.TaskActionResultSerializer,
        **error_responses(400, 403, 404, 409, 422),
    },
)
class TaskReassignApi(TaskActionApi):
    input_serializer = s.ReassignInputSerializer
    act = staticmethod(_by_user(administration.task_reassign))


# --- 常用语 (saved phrases) ---------------------------------------------------------------------

TAGS_PHRASES = ["saved phrases"]


class PhraseListApi(APIView):
    @extend_schema(
        tags=TAGS_PHRASES,
        operation_id="phrases_list",
        summary="常用语 The caller's saved phrases (the defaults while they have none)",
        responses={200: s.PhraseSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        items = phrase_reads.phrases_for(signed_in(request))
        return Response(s.PhraseSerializer(items, many=True).data)

    @extend_schema(
        tags=TAGS_PHRASES,
        operation_id="phrases_create",
        summary="Save a phrase at the end of the caller's list (at most 30, no duplicates)",
        request=s.PhraseInputSerializer,
        responses={201: s.PhraseSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        given = s.PhraseInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        phrase = phrase_services.phrase_add(
            owner=signed_in(request), text=given.validated_data["text"]
        )
        return Response(s.PhraseSerializer(phrase).data, status=201)


class PhraseDetailApi(APIView):
    @extend_schema(
        tags=TAGS_PHRASES,
        operation_id="phrases_destroy",
        summary="Remove one of the caller's saved phrases",
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request: Request, phrase_id: int) -> Response:
        try:
            phrase_services.phrase_remove(owner=signed_in(request), phrase_id=phrase_id)
        except Phrase.DoesNotExist as error:
            raise Http404 from error
        return Response(status=204)


# --- incidents ------------------------------------------------------------------------------------


class IncidentListApi(APIView):
    @extend_schema(
        tags=TAGS_INCIDENTS,
        operation_id="incidents_list",
        summary="Incidents, newest first (needs workflow.manage_processes)",
        parameters=[
            OpenApiParameter(
                "state", str, enum=["open", "resolved", "all"], description="default: open"
            ),
            OpenApiParameter("process", str, description="a process key"),
            *KEYSET_PARAMETERS,
        ],
        responses={200: s.IncidentPageSerializer, **error_responses(400, 403)},
    )
    def get(self, request: Request) -> Response:
        require_permission(request, "workflow.manage_processes")
        state = request.query_params.get("state", "open")
        rows = Incident.objects.select_related("instance")
        if state == "open":
            rows = rows.filter(resolved_at__isnull=True)
        elif state == "resolved":
            rows = rows.filter(resolved_at__isnull=False)
        elif state != "all":
            raise exceptions.ValidationError({"state": [_("Choose open, resolved or all.")]})
        if request.query_params.get("process"):
            rows = rows.filter(instance__definition_key=request.query_params["process"])
        page = KeysetPage(request)
        found = page.rows(Source(rows))
        return page.response(s.IncidentSerializer(found, many=True).data)


class IncidentRetryApi(APIView):
    @extend_schema(
        tags=TAGS_INCIDENTS,
        operation_id="incidents_retry",
        summary="Retry an incident's failed job (needs workflow.manage_processes)",
        description=(
            "Resolves the incident and runs its job once, now. `succeeded` says whether it "
            "worked; when the job failed again, `error` is why and `new_incident_id` the "
            "incident that now stands for it (the retried one stays resolved)."
        ),
        request=None,
        responses={200: s.IncidentRetrySerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request: Request, incident_id: int) -> Response:
        require_permission(request, "workflow.manage_processes")
        get_object_or_404(Incident, pk=incident_id)
        outcome = administration.incident_retry(incident_id, by=signed_in(request))
        data = {
            **s.IncidentSerializer(outcome.incident).data,
            "succeeded": outcome.succeeded,
            "error": outcome.error,
            "new_incident_id": outcome.new_incident.pk if outcome.new_incident else None,
        }
        return Response(s.IncidentRetrySerializer(data).data)


# --- the unified to-do (统一待办) ----------------------------------------------------------------


class ExternalTaskMineApi(APIView):
    @extend_schema(
        tags=TAGS_EXTERNAL,
        operation_id="external_tasks_mine",
        summary="My tasks in other systems, newest first",
        parameters=[
            OpenApiParameter(
                "state", str, enum=["open", "closed", "all"], description="default: open"
            ),
            OpenApiParameter("source", str, description="one source system"),
            *KEYSET_PARAMETERS,
        ],
        responses={200: s.ExternalTaskPageSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        state = request.query_params.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise exceptions.ValidationError({"state": [_("Choose open, closed or all.")]})
        rows = inbox.external_tasks_for(
            signed_in(request), state="" if state == "all" else state
        ).select_related("assignee")
        if request.query_params.get("source"):
            rows = rows.filter(source=request.query_params["source"])
        page = KeysetPage(request)
        found = page.rows(Source(rows))
        return page.response(s.ExternalTaskSerializer(found, many=True).data)


class ExternalTaskPushApi(APIView):
    """The source system's side: needs ``workflow.push_external_tasks`` (and the ``todo``
    scope for an OAuth2 token)."""

    required_scopes = ["todo"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        require_permission(request, "workflow.push_external_tasks")


def _external_answer(task: ExternalTask, status: str) -> Response:
    data = s.ExternalTaskResultSerializer({"status": status, "task": task}).data
    return Response(data, status=201 if status == "created" else 200)


_PUSH_ERRORS = error_responses(400, 403)


class ExternalTaskUpsertApi(ExternalTaskPushApi):
    @extend_schema(
        tags=TAGS_EXTERNAL,
        operation_id="external_tasks_upsert",
        summary="Create or replace a task of another system (统一待办)",
        description=(
            "A full replace: `assignee`, `title`, `url` and `source_updated_at` are required "
            "(a missing one is a 400 naming it); `summary`, `category` and `due_at` left out "
            "are emptied. Use PATCH to change some fields only. "
            "201 `created` (the assignee is notified), 200 `updated`, or 200 `stale`: "
            "`source_updated_at` is not newer than the stored change, and nothing changed. "
            "`assignee` is a user name or an employee number. A newer push of a closed task "
            "opens it again. Ids must not contain `/`."
        ),
        request=s.ExternalTaskPushInputSerializer,
        responses={
            201: s.ExternalTaskResultSerializer,
            200: s.ExternalTaskResultSerializer,
            **_PUSH_ERRORS,
        },
    )
    def put(self, request: Request, source: str, external_id: str) -> Response:
        given = s.ExternalTaskPushInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        task, status = external.external_task_upsert(
            source=source, external_id=external_id, **given.validated_data
        )
        return _external_answer(task, status)

    @extend_schema(
        tags=TAGS_EXTERNAL,
        operation_id="external_tasks_update",
        summary="Change some fields of a task of another system",
        description=(
            "A partial update: only the fields given change; the others, and whether the "
            "task is open or closed, stay as they are. `source_updated_at` is required. "
            "200 `updated` (a new assignee is notified) or 200 `stale`: not newer than the "
            "stored change, nothing changed. 404 for a task never pushed (PUT creates it)."
        ),
        request=s.ExternalTaskPatchInputSerializer,
        responses={200: s.ExternalTaskResultSerializer, **error_responses(400, 403, 404)},
    )
    def patch(self, request: Request, source: str, external_id: str) -> Response:
        given = s.ExternalTaskPatchInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            task, status = external.external_task_update(
                source=source, external_id=external_id, **given.validated_data
            )
        except ExternalTask.DoesNotExist:
            raise Http404 from None
        return _external_answer(task, status)


class ExternalTaskCloseApi(ExternalTaskPushApi):
    @extend_schema(
        tags=TAGS_EXTERNAL,
        operation_id="external_tasks_close",
        summary="Close a task of another system (handled or withdrawn there)",
        request=s.ExternalTaskCloseInputSerializer,
        responses={200: s.ExternalTaskResultSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request: Request, source: str, external_id: str) -> Response:
        given = s.ExternalTaskCloseInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            task, status = external.external_task_close(
                source=source, external_id=external_id, **given.validated_data
            )
        except ExternalTask.DoesNotExist:
            raise Http404 from None
        return _external_answer(task, status)


class ExternalTaskReplaceApi(ExternalTaskPushApi):
    @extend_schema(
        tags=TAGS_EXTERNAL,
        operation_id="external_tasks_replace",
        summary="Replace a task by a new one (the old is closed, in one transaction)",
        description=(
            "Closes `external_id`, creates or updates `new_external_id` and records "
            "`replaced_by` on the old task. `stale` when the old task holds a change at "
            "least as new: nothing changed."
        ),
        request=s.ExternalTaskReplaceInputSerializer,
        responses={
            201: s.ExternalTaskResultSerializer,
            200: s.ExternalTaskResultSerializer,
            **_PUSH_ERRORS,
        },
    )
    def post(self, request: Request, source: str, external_id: str) -> Response:
        given = s.ExternalTaskReplaceInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        task, status = external.external_task_replace(
            source=source, external_id=external_id, **given.validated_data
        )
        return _external_answer(task, status)
