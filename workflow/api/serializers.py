"""Input and output serializers of the workflow API. Input serializers validate and never
save; output serializers read rows the views hand them.

Some fields are named like attributes of DRF's Field (``label``, ``required``, ``source``,
``data`` ...): DRF's metaclass moves declared fields off the class, so the API's names are
safe at run time; only the type checker is told to ignore them."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.api import page_serializer
from workflow.forms import MAX_BPMN_BYTES
from workflow.models import (
    ExternalTask,
    HistoryEvent,
    Incident,
    InstanceState,
    ProcessDefinition,
    ProcessInstance,
    Signer,
    Task,
    TaskState,
)
from workflow.selectors.catalogue import hidden_processes
from workflow.selectors.inbox import task_is_urgent, validate_filter_date
from workflow.selectors.status import Status, status_of
from workflow.selectors.timeline import OUTCOMES

# --- process variables ----------------------------------------------------------------------------


def storable_text(text: str) -> bool:
    """Text the databases can store: no NUL character (PostgreSQL refuses it in jsonb and text)
    and no unpaired surrogate (not Unicode: it cannot be encoded as UTF-8)."""
    return "\x00" not in text and not any("\ud800" <= char <= "\udfff" for char in text)


def _check_storable(value: Any, path: str) -> None:
    if isinstance(value, str):
        if not storable_text(value):
            raise serializers.ValidationError(
                _("%(path)s holds a NUL character or an unpaired surrogate.") % {"path": path}
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_storable(str(key), path)
            _check_storable(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_storable(item, f"{path}.{index}")


class VariablesField(serializers.DictField):
    """Process variables as JSON: any values, but only text the databases can store."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value: dict[str, Any] = super().to_internal_value(data)
        _check_storable(value, self.field_name or "variables")
        return value


# --- definitions --------------------------------------------------------------------------------


class DefinitionVersionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    deployed_at = serializers.DateTimeField()
    deployed_by = serializers.CharField(source="deployed_by.username", default="")
    source_name = serializers.CharField()


class DefinitionSerializer(serializers.Serializer[Any]):
    """A process key with its latest version first in ``versions``."""

    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    version = serializers.IntegerField(help_text="the latest version")
    id = serializers.IntegerField(help_text="the latest version's id")
    deployed_at = serializers.DateTimeField()
    versions = DefinitionVersionSerializer(many=True)


class DefinitionFileInputSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="a .bpmn file (at most 5 MB)")

    def validate_file(self, upload: Any) -> bytes:
        if upload.size > MAX_BPMN_BYTES:
            raise serializers.ValidationError(_("The file is larger than 5 MB."))
        data: bytes = upload.read()
        return data


class DefinitionXmlInputSerializer(serializers.Serializer[Any]):
    xml = serializers.CharField(trim_whitespace=False, help_text="the BPMN 2.0 XML")
    source_name = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=255
    )

    def validate_xml(self, xml: str) -> str:
        if len(xml.encode()) > MAX_BPMN_BYTES:
            raise serializers.ValidationError(_("The file is larger than 5 MB."))
        return xml


class DeployedSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    version = serializers.IntegerField()
    created = serializers.BooleanField(help_text="false: identical to the latest version")


# --- instances ----------------------------------------------------------------------------------


class InstanceStartInputSerializer(serializers.Serializer[Any]):
    process_key = serializers.CharField(max_length=255)
    business_key = serializers.CharField(
        max_length=255, required=False, default="", allow_blank=True
    )
    title = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    variables = VariablesField(
        required=False,
        default=dict,
        help_text="the start form's fields (no other key: the initiator is the caller)",
    )
    urgent = serializers.BooleanField(
        required=False, default=False, help_text="加急: first and flagged in the approvers' inbox"
    )

    def validate_process_key(self, key: str) -> str:
        """A process the caller may not start is answered as one that is not deployed, as
        the catalogue does not show it (``hidden_processes``)."""
        request = self.context.get("request")
        if not ProcessDefinition.objects.filter(key=key).exists() or (
            request is not None and key in hidden_processes(request.user)
        ):
            raise serializers.ValidationError(_("No process with this key is deployed."))
        return key


class InstanceSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    process_key = serializers.CharField(source="definition_key")
    process_name = serializers.CharField(source="definition.name")
    version = serializers.IntegerField(source="definition.version")
    business_key = serializers.CharField()
    title = serializers.CharField()
    initiator = serializers.CharField()
    state = serializers.ChoiceField(choices=InstanceState.choices)
    status = serializers.SerializerMethodField(
        help_text="the status people read, as a code: running, returned, withdrawn, suspended, "
        "approved, rejected, cancelled, terminated (``state`` is the engine's)"
    )
    status_display = serializers.SerializerMethodField(
        help_text="``status`` in the caller's language: 审批中, 已通过, 已驳回, 已撤回, 已撤销 ..."
    )
    urgent = serializers.BooleanField(help_text="加急")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, instance: ProcessInstance) -> str:
        return _absolute(self.context, reverse("api:instance-detail", args=[instance.pk]))

    def _status(self, instance: ProcessInstance) -> Status:
        # a list passes its page's statuses (``statuses``): no query per row
        found: Status | None = self.context.get("statuses", {}).get(instance.pk)
        return found if found is not None else status_of(instance)

    def get_status(self, instance: ProcessInstance) -> str:
        return self._status(instance).code

    def get_status_display(self, instance: ProcessInstance) -> str:
        return self._status(instance).label


class HistoryEventSerializer(serializers.ModelSerializer[HistoryEvent]):
    class Meta:
        model = HistoryEvent
        fields = [
            "id",
            "kind",
            "element_id",
            "element_kind",
            "task_id",
            "actor",
            "on_behalf_of",
            "outcome",
            "started_at",
            "at",
            "duration_ms",
            "data",
        ]


class TaskBriefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    element_id = serializers.CharField()
    state = serializers.ChoiceField(choices=TaskState.choices)
    assignee = serializers.CharField()
    candidates = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)

    def get_candidates(self, task: Task) -> list[str]:
        return [f"{c.kind}:{c.value}" for c in task.candidates.all()]


class CommentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    author_name = serializers.CharField(source="author.display_name")
    text = serializers.CharField()
    task_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class AttachmentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    task_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class CopySerializer(serializers.Serializer[Any]):
    """A person copied on the instance (抄送) and whether they have read it."""

    user = serializers.CharField(source="user.username")
    user_name = serializers.CharField(source="user.display_name")
    sent_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True, help_text="null: not read yet")


class InstanceDetailSerializer(InstanceSerializer):
    end_event = serializers.CharField()
    variables = serializers.DictField()
    history = HistoryEventSerializer(many=True)
    open_tasks = TaskBriefSerializer(many=True)
    comments = CommentSerializer(many=True)
    attachments = AttachmentSerializer(many=True)
    copies = CopySerializer(many=True, help_text="抄送, with each person's read receipt")
    diagram_url = serializers.SerializerMethodField(help_text="the diagram as SVG, highlighted")

    def get_diagram_url(self, instance: ProcessInstance) -> str:
        return _absolute(self.context, reverse("api:instance-diagram", args=[instance.pk]))


InstancePageSerializer = page_serializer(InstanceSerializer, "InstancePage")


# --- instance actions ---------------------------------------------------------------------------


class ReasonInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, default="", allow_blank=True)


class RequiredReasonInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField()


class CommentInputSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class CopyInputSerializer(serializers.Serializer[Any]):
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=150),
        allow_empty=False,
        help_text="user names or role:code",
    )
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class CommentAddInputSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()
    task_id = serializers.IntegerField(required=False, allow_null=True, default=None)


class AttachmentAddInputSerializer(serializers.Serializer[Any]):
    upload = serializers.FileField()
    task_id = serializers.IntegerField(required=False, allow_null=True, default=None)


class MoveInputSerializer(serializers.Serializer[Any]):
    target = serializers.CharField(help_text="the element id the active steps move to")
    reason = serializers.CharField()


class MigrateInputSerializer(serializers.Serializer[Any]):
    to_definition_id = serializers.IntegerField()


class MigrationReportSerializer(serializers.Serializer[Any]):
    migrated = serializers.ListField(child=serializers.IntegerField())
    refused = serializers.DictField(
        child=serializers.CharField(), help_text="instance id -> why it was not moved"
    )


# --- tasks --------------------------------------------------------------------------------------


class ChoiceSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()


class FormFieldSerializer(serializers.Serializer[Any]):
    """A field of the step's form: a registered form's, or a ``camunda:formField``."""

    id = serializers.CharField(help_text="the process variable it sets")
    label = serializers.CharField()  # type: ignore[assignment]
    type = serializers.CharField(
        help_text="string | long | decimal | double | boolean | date | datetime | enum | file"
    )
    required = serializers.BooleanField()  # type: ignore[assignment]
    readonly = serializers.BooleanField()
    value = serializers.JSONField(allow_null=True, help_text="the value it starts with")
    choices = ChoiceSerializer(many=True, help_text="enum fields only")
    help_text = serializers.CharField()  # type: ignore[assignment]
    constraints = serializers.DictField(
        child=serializers.CharField(), help_text="min_value, max_value, min_length, max_length"
    )


class AddedSignerSerializer(serializers.Serializer[Any]):
    """A signer added (加签) at this task: ``id`` is the signer's task, the one
    ``remove-signer`` (减签) takes while its state is open or pending."""

    id = serializers.IntegerField()
    assignee = serializers.CharField()
    signer = serializers.CharField(help_text="before / after / alongside")
    state = serializers.ChoiceField(choices=TaskState.choices)


class TaskDetailSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    element_id = serializers.CharField()
    state = serializers.ChoiceField(choices=TaskState.choices)
    assignee = serializers.CharField()
    owner = serializers.CharField(help_text="委派: who delegated it and decides when it is back")
    delegation = serializers.CharField()
    on_behalf_of = serializers.CharField()
    signer = serializers.CharField(help_text="加签: where this added signer stands")
    priority = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    completed_by = serializers.CharField()
    outcome = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]
    instance = InstanceSerializer()
    form_fields = FormFieldSerializer(many=True)
    added_signers = AddedSignerSerializer(many=True)
    actions = serializers.ListField(
        child=serializers.CharField(), help_text="what the caller may do now, e.g. approve"
    )
    signature_mode = serializers.ChoiceField(
        choices=["", "optional", "required"],
        help_text="签名: whether approve, reject and return take a handwritten signature",
    )
    signature_url = serializers.CharField(
        allow_blank=True, help_text="the signature kept with the decided task (PNG); empty: none"
    )


class InboxItemSerializer(serializers.Serializer[Any]):
    """A row of an inbox tab: one of our tasks (``source`` = "workflow"), an external task
    (``source`` = the system), an instance (started tab) or a copy (copied tab)."""

    kind = serializers.ChoiceField(choices=["task", "external", "instance", "copy"])
    id = serializers.IntegerField(help_text="the task's, external task's, instance's or copy's")
    source = serializers.CharField()  # type: ignore[assignment]
    title = serializers.CharField()
    name = serializers.CharField(help_text="the step (tasks) or the process")
    process_key = serializers.CharField()
    instance_id = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(
        choices=list(dict(TaskState.choices + InstanceState.choices).items()),
        help_text="the task's state; on instance and copy rows, the request's",
    )
    assignee = serializers.CharField()
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    urgent = serializers.BooleanField(help_text="加急 (the request), or a task's high priority")
    read_at = serializers.DateTimeField(allow_null=True, help_text="copies only")
    url = serializers.CharField(help_text="our API's detail; for external tasks, their page")
    outcome = serializers.CharField(
        help_text=(
            "done tab: what the caller did with the task — approved, rejected, returned, "
            "submitted, transferred, delegated, resolved (handed back by the delegate), "
            "timeout-approved ...; empty on the other tabs"
        )
    )
    outcome_label = serializers.CharField(help_text="the outcome in the caller's language")
    done_at = serializers.DateTimeField(
        allow_null=True, help_text="done tab: when the caller did it (the list's order)"
    )


InboxPageSerializer = page_serializer(InboxItemSerializer, "InboxPage")


class FilterDateTimeField(serializers.DateTimeField):
    """A moment a list is filtered by: outside ``selectors.validate_filter_date``'s range it
    is the field's error. Checked before DRF makes it aware, since DRF checks a naive value
    by converting it to UTC, which overflows near year 1 (a 500: issue 13)."""

    def enforce_timezone(self, value: datetime.datetime) -> datetime.datetime:
        validate_filter_date(value)
        return super().enforce_timezone(value)


class TaskListQuerySerializer(serializers.Serializer[Any]):
    tab = serializers.ChoiceField(
        choices=["todo", "done", "started", "copied"], required=False, default="todo"
    )
    process = serializers.CharField(required=False, help_text="a process key")
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    urgent = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="tasks: 加急 only (or none)"
    )
    created_after = FilterDateTimeField(required=False)
    created_before = FilterDateTimeField(required=False)
    q = serializers.CharField(required=False, help_text="searches titles and step names")
    external = serializers.BooleanField(
        required=False, default=True, help_text="todo tab: include external tasks"
    )


def signature_field() -> serializers.CharField:
    """The handwritten signature a decision may carry (approve, reject, return)."""
    return serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text=(
            "签名 where the step asks for one (task detail: signature_mode): a PNG as a "
            "data:image/png;base64 URL or plain base64, at most 300 KB"
        ),
    )


class ApproveInputSerializer(serializers.Serializer[Any]):
    data = VariablesField(  # type: ignore[assignment]
        required=False, default=dict, help_text="the step's form"
    )
    comment = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="审批意见, in the history"
    )
    signature = signature_field()


class ResolveInputSerializer(serializers.Serializer[Any]):
    data = VariablesField(  # type: ignore[assignment]
        required=False, default=dict, help_text="the step's form"
    )
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class RejectInputSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(help_text="the reason (审批意见), required")
    data = VariablesField(required=False, default=dict)  # type: ignore[assignment]
    signature = signature_field()


class ReturnInputSerializer(serializers.Serializer[Any]):
    target = serializers.CharField(help_text='"initiator" or an element id (return-targets)')
    comment = serializers.CharField(help_text="the reason (审批意见), required")
    signature = signature_field()


class HandOverInputSerializer(serializers.Serializer[Any]):
    to = serializers.CharField(max_length=150, help_text="a user name")
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class AddSignersInputSerializer(serializers.Serializer[Any]):
    signers = serializers.ListField(child=serializers.CharField(max_length=150), allow_empty=False)
    position = serializers.ChoiceField(choices=Signer.choices)
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class ReassignInputSerializer(serializers.Serializer[Any]):
    to = serializers.CharField(max_length=150, help_text="a user name")
    reason = serializers.CharField(required=False, default="", allow_blank=True)


class PhraseSerializer(serializers.Serializer[Any]):
    """常用语: one of the caller's saved phrases, or a default (``id`` null) while they have
    saved none."""

    id = serializers.IntegerField(allow_null=True, help_text="null: a default phrase")
    text = serializers.CharField()
    position = serializers.IntegerField()


class PhraseInputSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(
        max_length=1000, help_text="1 to 200 characters once spaces are trimmed"
    )


class TaskActionResultSerializer(serializers.Serializer[Any]):
    task = TaskBriefSerializer()
    instance = InstanceSerializer()


class PeopleResultSerializer(serializers.Serializer[Any]):
    people = serializers.ListField(
        child=serializers.CharField(), help_text="the user names reached"
    )


class ReturnTargetSerializer(serializers.Serializer[Any]):
    element_id = serializers.CharField()
    name = serializers.CharField()


# --- incidents ----------------------------------------------------------------------------------


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    process_key = serializers.CharField(source="instance.definition_key", default="")

    class Meta:
        model = Incident
        fields = [
            "id",
            "instance_id",
            "process_key",
            "element_id",
            "message",
            "created_at",
            "resolved_at",
            "resolved_by",
        ]


IncidentPageSerializer = page_serializer(IncidentSerializer, "IncidentPage")


class IncidentRetrySerializer(serializers.Serializer[Any]):
    """The retried incident (now resolved) and what its job's new run came to."""

    id = serializers.IntegerField()
    instance_id = serializers.IntegerField(allow_null=True)
    process_key = serializers.CharField()
    element_id = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField()
    succeeded = serializers.BooleanField(help_text="the job ran and the process went on")
    error = serializers.CharField(help_text="why it failed again; empty when it succeeded")
    new_incident_id = serializers.IntegerField(
        allow_null=True, help_text="the open incident of the job that failed again"
    )


# --- the unified to-do ------------------------------------------------------------------------


class ExternalTaskPushInputSerializer(serializers.Serializer[Any]):
    assignee = serializers.CharField(max_length=150, help_text="user name or employee number")
    title = serializers.CharField(max_length=255)
    url = serializers.URLField(max_length=1000, help_text="where the task is handled")
    source_updated_at = serializers.DateTimeField(
        help_text="when this change happened in the source; older changes are ignored"
    )
    summary = serializers.CharField(required=False, default="", allow_blank=True)
    category = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ExternalTaskPatchInputSerializer(serializers.Serializer[Any]):
    """A partial change: only the fields given change (``source_updated_at`` is always
    needed, to order the change among the others)."""

    assignee = serializers.CharField(
        max_length=150, required=False, help_text="user name or employee number"
    )
    title = serializers.CharField(max_length=255, required=False)
    url = serializers.URLField(max_length=1000, required=False)
    source_updated_at = serializers.DateTimeField(
        help_text="when this change happened in the source; older changes are ignored"
    )
    summary = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(required=False, allow_blank=True, max_length=100)
    due_at = serializers.DateTimeField(required=False, allow_null=True)


class ExternalTaskCloseInputSerializer(serializers.Serializer[Any]):
    source_updated_at = serializers.DateTimeField()


class ExternalTaskReplaceInputSerializer(ExternalTaskPushInputSerializer):
    new_external_id = serializers.RegexField(r"^[^/]+$", max_length=255)


class ExternalTaskSerializer(serializers.ModelSerializer[ExternalTask]):
    assignee = serializers.CharField(source="assignee.username")

    class Meta:
        model = ExternalTask
        fields = [
            "source",
            "external_id",
            "assignee",
            "title",
            "summary",
            "url",
            "category",
            "state",
            "due_at",
            "source_updated_at",
            "created_at",
            "updated_at",
            "closed_at",
            "replaced_by",
        ]


class ExternalTaskResultSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=["created", "updated", "closed", "stale"],
        help_text="stale: not newer than what we hold; nothing changed",
    )
    task = ExternalTaskSerializer()


ExternalTaskPageSerializer = page_serializer(ExternalTaskSerializer, "ExternalTaskPage")


# --- helpers ------------------------------------------------------------------------------------


def _absolute(context: Mapping[str, Any], path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def inbox_item(row: Any, *, kind: str, names: Mapping[str, str], request: Any) -> dict[str, Any]:
    """An inbox row as :class:`InboxItemSerializer` data, from a Task, ExternalTask,
    ProcessInstance or CarbonCopy (``names``: process names by key)."""
    now = timezone.now()
    context = {"request": request}
    if kind == "external":
        return {
            "kind": kind,
            "id": row.pk,
            "source": row.source,
            "title": row.title,
            "name": row.category,
            "process_key": "",
            "instance_id": None,
            "state": row.state,
            "assignee": row.assignee.username,
            "created_at": row.created_at,
            "due_at": row.due_at,
            "overdue": bool(row.due_at and row.due_at < now and row.state == "open"),
            "urgent": False,
            "read_at": None,
            "url": row.url,
            "outcome": "",
            "outcome_label": "",
            "done_at": None,
        }
    if kind == "task":
        return {
            "kind": kind,
            "id": row.pk,
            "source": "workflow",
            "title": row.instance.title,
            "name": row.name or row.element_id,
            "process_key": row.definition_key,
            "instance_id": row.instance_id,
            "state": row.state,
            "assignee": row.assignee,
            "created_at": row.created_at,
            "due_at": row.due_at,
            "overdue": bool(row.due_at and row.due_at < now and row.state == "open"),
            "urgent": task_is_urgent(row),
            "read_at": None,
            "url": _absolute(context, reverse("api:task-detail", args=[row.pk])),
            **_done(row),
        }
    instance = row if kind == "instance" else row.instance
    return {
        "kind": kind,
        "id": row.pk,
        "source": "workflow",
        "title": instance.title,
        "name": names.get(instance.definition_key) or instance.definition_key,
        "process_key": instance.definition_key,
        "instance_id": instance.pk,
        "state": instance.state,
        "assignee": "",
        "created_at": row.started_at if kind == "instance" else row.created_at,
        "due_at": None,
        "overdue": False,
        "urgent": instance.urgent,
        "read_at": getattr(row, "read_at", None),
        "url": _absolute(context, reverse("api:instance-detail", args=[instance.pk])),
        "outcome": "",
        "outcome_label": "",
        "done_at": None,
    }


def _done(task: Any) -> dict[str, Any]:
    """What the caller did with a task of the done tab (``inbox_page`` sets ``done_at`` and
    ``done_outcome``), in words too; nothing for an open one."""
    outcome = getattr(task, "done_outcome", "")
    return {
        "outcome": outcome,
        "outcome_label": str(OUTCOMES.get(outcome, outcome)),
        "done_at": getattr(task, "done_at", None),
    }
