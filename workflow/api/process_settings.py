"""``/api/v1/processes/<key>/settings``: a deployed process's settings, for process
administrators (``workflow.manage_processes``; 403 for anyone else, 404 for a key that is
not deployed). ``GET`` reads them, ``PUT`` replaces every one (each field required),
``PATCH`` changes only those given. Values are checked as Django admin and the console's
page check them (the model's ``clean()``): a bad duration, an unknown person, role or
department in ``cc_at_end`` is a 400 naming the field, and nothing changes.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses
from portal.http import signed_in
from portal.models import Department, Role
from workflow.api.serializers import storable_text
from workflow.models import ProcessDefinition, ProcessSettings
from workflow.selectors.visibility import is_process_admin
from workflow.services import process_settings

TAGS_PROCESSES = ["processes"]


class _ByCode(serializers.SlugRelatedField[Any]):
    """A role or department by its code; a code no database can hold (a NUL character, an
    unpaired surrogate) is simply not found, never sent to the database."""

    default_error_messages = {
        "unstorable": _("No role or department has this code (it holds a character no code has).")
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and not storable_text(data):
            self.fail("unstorable")  # not echoed: the answer must be encodable
        return super().to_internal_value(data)


class ProcessSettingsSerializer(serializers.ModelSerializer[ProcessSettings]):
    """A process's settings; roles and departments by their codes."""

    key = serializers.CharField(read_only=True)
    starter_roles = _ByCode(
        slug_field="code",
        many=True,
        queryset=Role.objects.all(),
        help_text="codes of the roles whose holders may start it",
    )
    starter_departments = _ByCode(
        slug_field="code",
        many=True,
        queryset=Department.objects.all(),
        help_text="codes of the departments whose members (sub-departments too) may start "
        "it; no roles and no departments: everyone",
    )
    escalation_role = _ByCode(
        slug_field="code",
        queryset=Role.objects.all(),
        allow_null=True,
        help_text="code of the role that gets a step nobody can take (empty_assignee: escalate)",
    )

    class Meta:
        model = ProcessSettings
        fields = ["key", *process_settings.EDITABLE, *process_settings.RELATED]
        extra_kwargs = {
            "default_due": {
                "help_text": "ISO 8601 duration (P2D, PT8H, PT30M, PT45S); empty: none"
            },
            "remind_before": {"help_text": "ISO 8601 duration before the due time, e.g. PT4H"},
            "cc_at_end": {
                "help_text": "copied when it ends: user names, role:<code>, dept:<code> or "
                "expressions such as ${manager(initiator)}, separated by commas"
            },
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.partial:
            # PUT replaces every setting: none may be left out
            for field in self.fields.values():
                if not field.read_only:
                    field.required = True

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The model's ``clean()`` on the row as it would be (unsaved)."""
        current = self.instance or ProcessSettings(key=self.context.get("key", ""))
        trial = ProcessSettings(
            **{
                f.attname: getattr(current, f.attname)
                for f in ProcessSettings._meta.concrete_fields
            }
        )
        for name, value in attrs.items():
            if name not in process_settings.RELATED:
                setattr(trial, name, value)
        try:
            trial.clean()
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs


def _deployed(key: str) -> ProcessSettings:
    """The settings row of a deployed process (unsaved defaults when it has none)."""
    if not ProcessDefinition.objects.filter(key=key).exists():
        raise Http404
    return ProcessSettings.objects.filter(key=key).first() or ProcessSettings(key=key)


_ERRORS = error_responses(400, 403, 404)


class ProcessSettingsApi(APIView):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not is_process_admin(signed_in(request)):
            raise exceptions.PermissionDenied()

    def _answer(self, key: str) -> Response:
        row = _deployed(key)
        return Response(ProcessSettingsSerializer(row).data)

    @extend_schema(
        tags=TAGS_PROCESSES,
        operation_id="process_settings_read",
        summary="A process's settings (needs workflow.manage_processes)",
        responses={200: ProcessSettingsSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, key: str) -> Response:
        return self._answer(key)

    def _write(self, request: Request, key: str, *, partial: bool) -> Response:
        row = _deployed(key)
        given = ProcessSettingsSerializer(
            row if row.pk else None,
            data=request.data,
            partial=partial,
            context={"request": request, "key": key},
        )
        given.is_valid(raise_exception=True)
        try:
            process_settings.process_settings_update(
                key=key, by=signed_in(request), changes=dict(given.validated_data)
            )
        except ProcessDefinition.DoesNotExist:
            raise Http404 from None
        return self._answer(key)

    @extend_schema(
        tags=TAGS_PROCESSES,
        operation_id="process_settings_replace",
        summary="Replace every setting of a process (needs workflow.manage_processes)",
        description=(
            "Every field is required: a missing one is a 400 naming it, and nothing changes. "
            "Use PATCH to change some."
        ),
        request=ProcessSettingsSerializer,
        responses={200: ProcessSettingsSerializer, **_ERRORS},
    )
    def put(self, request: Request, key: str) -> Response:
        return self._write(request, key, partial=False)

    @extend_schema(
        tags=TAGS_PROCESSES,
        operation_id="process_settings_update",
        summary="Change some settings of a process (needs workflow.manage_processes)",
        description="Only the fields given change; the others keep their values.",
        request=ProcessSettingsSerializer(partial=True),
        responses={200: ProcessSettingsSerializer, **_ERRORS},
    )
    def patch(self, request: Request, key: str) -> Response:
        return self._write(request, key, partial=True)
