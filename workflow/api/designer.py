"""The process designer's API (``/api/v1/definitions/validate`` and ``/simulate``): judge a
BPMN file as a deployment would, and run it once on sample data, without deploying anything;
and ``/api/v1/definitions/<key>/translations``: a process's names in other languages.

All need what deploying needs (``visibility.may_deploy``: ``workflow.add_processdefinition`` or
being a process administrator; 403 otherwise; 401/403 for an anonymous caller, as every
endpoint of the API).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import JSONParser, ProblemSerializer, error_responses
from portal.http import signed_in
from workflow import participants
from workflow.api.serializers import DefinitionXmlInputSerializer
from workflow.api.views import TAGS_DEFINITIONS, require_deployer
from workflow.bpmn.model import BpmnError, Problem
from workflow.services import definitions
from workflow.simulation import simulate
from workflow.translation import other_languages

DESIGN_PERMISSION = "workflow.add_processdefinition"
# (DRF formats its messages with str.format: no braces in them.)
NOT_AN_OBJECT = gettext_lazy("Give a JSON object of names and values.")


def definition_problems(xml: bytes | str) -> list[Problem]:
    """Every problem that would stop ``definitions.definition_deploy`` from deploying ``xml``
    now (``definitions.definition_check``); none: it would deploy."""
    try:
        definitions.definition_check(xml)
    except BpmnError as error:
        return list(error.problems)
    return []


# --- serializers ----------------------------------------------------------------------------------


class ValidateInputSerializer(DefinitionXmlInputSerializer):
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields.pop("source_name")
        return fields


class ValidationSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField(help_text="true: the file can be deployed as it is")
    problems = ProblemSerializer(many=True, help_text="every problem found, empty when valid")


class SimulateInputSerializer(DefinitionXmlInputSerializer):
    process_key = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=255,
        help_text="the process of the file to run; default: its first executable process",
    )
    variables = serializers.DictField(
        required=False,
        default=dict,
        help_text="the start variables, a JSON object",
        error_messages={"not_a_dict": NOT_AN_OBJECT},
    )
    task_data = serializers.DictField(
        required=False,
        default=dict,
        help_text=(
            "the data completing every user task; or, when each key is a user task id and each "
            "value an object, the data of that task"
        ),
        error_messages={"not_a_dict": NOT_AN_OBJECT},
    )
    timers = serializers.ChoiceField(
        choices=["lazy", "eager"],
        required=False,
        default="lazy",
        help_text="lazy: a timer fires only when nothing else can move; eager: as soon as armed",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields.pop("source_name")
        return fields


class SimulationErrorSerializer(serializers.Serializer[Any]):
    element_id = serializers.CharField()
    message = serializers.CharField()


class SimulationSerializer(serializers.Serializer[Any]):
    process = serializers.CharField(help_text="the process key that ran")
    notes = serializers.ListField(
        child=serializers.CharField(), help_text="applications replaced by no-ops for the run"
    )
    path = serializers.ListField(
        child=serializers.CharField(), help_text="the elements the instance went through, in order"
    )
    end_events = serializers.ListField(child=serializers.CharField())
    state = serializers.ChoiceField(choices=["completed", "terminated", "waiting", "error"])
    waiting_at = serializers.ListField(
        child=serializers.CharField(),
        help_text="each waiting token: its element, what it waits for",
    )
    error = SimulationErrorSerializer(allow_null=True)
    variables = serializers.DictField(help_text="the instance's variables at the end")
    user_tasks = serializers.ListField(child=serializers.CharField())
    timers_fired = serializers.IntegerField()
    messages_not_delivered = serializers.ListField(child=serializers.CharField())
    steps = serializers.IntegerField()


class TranslationEntrySerializer(serializers.Serializer[Any]):
    entry = serializers.CharField(
        help_text="the key in `translations`: process, description, an element id, "
        "field:<field id> or enum:<field id>:<value>"
    )
    kind = serializers.ChoiceField(
        choices=["process", "description", "category", "step", "field", "option"]
    )
    text = serializers.CharField(help_text="what the BPMN file says")
    where = serializers.CharField(help_text="the step of a field, the field of an option")


class LanguageSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()


class TranslationsSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    languages = LanguageSerializer(many=True, help_text="the languages to translate into")
    entries = TranslationEntrySerializer(many=True)
    translations = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="by language, the text of each entry",
    )


class TranslationsInputSerializer(serializers.Serializer[Any]):
    translations = serializers.DictField(
        help_text='by language, the text of each entry: {"en": {"process": "Leave request"}}; '
        "an empty text: the BPMN name shows",
        error_messages={"not_a_dict": NOT_AN_OBJECT},
    )


# --- views ----------------------------------------------------------------------------------------


class DefinitionValidateApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        tags=TAGS_DEFINITIONS,
        operation_id="definitions_validate",
        summary="Validate a BPMN file as deploying it would (process designers and administrators)",
        description=(
            "Nothing is deployed. 200 with `valid` and every problem, each naming its element "
            "(an empty `element_id`: the whole file, e.g. XML that cannot be read)."
        ),
        request=ValidateInputSerializer,
        responses={200: ValidationSerializer, **error_responses(400, 403)},
    )
    def post(self, request: Request) -> Response:
        require_deployer(request)
        data = ValidateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        problems = definition_problems(data.validated_data["xml"])
        body = {
            "valid": not problems,
            "problems": [{"element_id": p.element_id, "message": p.message} for p in problems],
        }
        return Response(ValidationSerializer(body).data)


class DefinitionSimulateApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        tags=TAGS_DEFINITIONS,
        operation_id="definitions_simulate",
        summary="Run a BPMN file once on sample data (process designers and administrators)",
        description=(
            "The file is deployed, one instance started by the caller and driven (user tasks "
            "completed with `task_data`, jobs and timers run) inside a transaction that is "
            "always rolled back: nothing stays. Applications acting outside the database are "
            "replaced by no-ops (`notes`). A file that cannot be deployed answers 400 "
            "`invalid_bpmn` with every problem; a failure while running is `state` error "
            "with the element."
        ),
        request=SimulateInputSerializer,
        responses={200: SimulationSerializer, **error_responses(400, 403)},
    )
    def post(self, request: Request) -> Response:
        require_deployer(request)
        data = SimulateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        variables = values["variables"]
        initial = variables.get("initiator")
        initiator = initial if isinstance(initial, str) and initial else signed_in(request).username
        result = simulate(
            values["xml"].encode(),
            source_name="simulation.bpmn",
            process_key=values["process_key"] or None,
            variables=variables,
            task_data=values["task_data"],
            timers=values["timers"],
            initiator=initiator,
        )
        return Response(SimulationSerializer(result.as_dict()).data)


def _translations_body(key: str) -> dict[str, Any]:
    entries = definitions.translation_entries(key)
    if not entries:
        raise Http404
    stored = participants.settings_for(key).translations or {}
    return {
        "key": key,
        "languages": [{"code": code, "name": name} for code, name in other_languages()],
        "entries": [
            {"entry": e.entry, "kind": e.kind, "text": e.source, "where": e.context}
            for e in entries
        ],
        "translations": stored,
    }


class DefinitionTranslationsApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        tags=TAGS_DEFINITIONS,
        operation_id="definitions_translations",
        summary="A process's names in other languages (process designers and administrators)",
        description=(
            "Every text of the process a person reads (its name, description, steps, form "
            "fields and options, of every deployed version) with the translations saved."
        ),
        responses={200: TranslationsSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, key: str) -> Response:
        require_deployer(request)
        return Response(TranslationsSerializer(_translations_body(key)).data)

    @extend_schema(
        tags=TAGS_DEFINITIONS,
        operation_id="definitions_translations_save",
        summary="Save a process's names in other languages (process designers and administrators)",
        description=(
            "Replaces the table. Each entry must be a text of the process (see GET); a problem "
            "answers 400 and saves nothing."
        ),
        request=TranslationsInputSerializer,
        responses={200: TranslationsSerializer, **error_responses(400, 403, 404)},
    )
    def put(self, request: Request, key: str) -> Response:
        require_deployer(request)
        if not definitions.translation_entries(key):
            raise Http404
        data = TranslationsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        definitions.process_translations_save(
            key=key, translations=data.validated_data["translations"]
        )
        return Response(TranslationsSerializer(_translations_body(key)).data)
