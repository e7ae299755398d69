"""The service cases' API under ``/api/v1/crm/``: list (filters, keyset pages), open, one
case, a step of the status flow, and the satisfaction rating. Each view parses with an input
serializer, calls a selector or a service and answers with an output serializer; a case of an
account the caller may not see answers 404, a step its status refuses 409 (nothing changed),
bad input 400 naming the field."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import Case, CaseChannel, CaseStatus
from crm.selectors import cases as selectors
from crm.services import cases as services
from portal.api import (
    KEYSET_PARAMETERS,
    KeysetPage,
    TokenHasViewScope,
    error_responses,
    page_serializer,
)
from portal.http import signed_in
from portal.keyset import Source

TAGS = ["crm: cases"]
STEPS = sorted(services.TRANSITIONS)


class CaseSerializer(serializers.ModelSerializer[Case]):
    account = serializers.IntegerField(source="account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    contact = serializers.IntegerField(source="contact_id", read_only=True, allow_null=True)
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    sla = serializers.SerializerMethodField(help_text="none, running, paused, met or breached")

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "account",
            "account_name",
            "contact",
            "subject",
            "description",
            "channel",
            "priority",
            "status",
            "owner",
            "opened_at",
            "first_response_due",
            "resolution_due",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "paused_at",
            "escalation_level",
            "satisfaction",
            "satisfaction_comment",
            "sla",
        ]
        read_only_fields = fields

    def get_sla(self, case: Case) -> str:
        return selectors.sla_state(case)


CasePage = page_serializer(CaseSerializer, "CrmCasePage")


class CaseListQuerySerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=[*CaseStatus.values, "active"], required=False, help_text="active: not resolved"
    )
    account = serializers.IntegerField(required=False, min_value=1)
    mine = serializers.BooleanField(required=False, help_text="only the cases I handle")


class CaseOpenSerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField(min_value=1)
    contact = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=[1, 2, 3], default=2)
    channel = serializers.ChoiceField(choices=CaseChannel.values, default=CaseChannel.API)


class CaseStepSerializer(serializers.Serializer[Any]):
    step = serializers.ChoiceField(choices=STEPS)
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=20_000,
        help_text="a note; required to reopen",
    )


class CaseFeedbackSerializer(serializers.Serializer[Any]):
    satisfaction = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CaseListApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_cases_list",
        summary="Service cases of the accounts the caller sees, newest first",
        parameters=[CaseListQuerySerializer, *KEYSET_PARAMETERS],
        responses={200: CasePage, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        query = CaseListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        rows = selectors.cases_for(user).select_related("account", "owner")
        if given.get("status") == "active":
            rows = rows.filter(status__in=selectors.ACTIVE)
        elif given.get("status"):
            rows = rows.filter(status=given["status"])
        if given.get("account"):
            rows = rows.filter(account_id=given["account"])
        if given.get("mine"):
            rows = rows.filter(owner=user)
        page = KeysetPage(request)
        found = page.rows(Source(rows, field="opened_at"))
        return page.response(CaseSerializer(found, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="crm_cases_create",
        summary="Open a case on an account; its SLA deadlines come from the account's level",
        request=CaseOpenSerializer,
        responses={201: CaseSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request) -> Response:
        given = CaseOpenSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        case = services.case_open(
            by=signed_in(request),
            account_id=data["account"],
            contact_id=data.get("contact"),
            subject=data["subject"],
            description=data["description"],
            priority=data["priority"],
            channel=data["channel"],
        )
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)


class CaseDetailApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_cases_retrieve",
        summary="One case with its deadlines and SLA state",
        responses={200: CaseSerializer, **error_responses(404)},
    )
    def get(self, request: Request, case_id: int) -> Response:
        return Response(CaseSerializer(selectors.case_for(signed_in(request), case_id)).data)


class CaseStepApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_cases_transition",
        summary="A step of the case's status flow (respond, wait, resume, resolve, close, reopen)",
        description="Each step has its source states; another answers 409 `case_refused` and "
        "changes nothing. `wait` stops the SLA clock, `resume` moves the deadlines by the "
        "paused business time.",
        request=CaseStepSerializer,
        responses={200: CaseSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        user = signed_in(request)
        selectors.case_for(user, case_id)
        given = CaseStepSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        case = services.TRANSITIONS[data["step"]](by=user, case_id=case_id, text=data["text"])
        return Response(CaseSerializer(case).data)


class CaseFeedbackApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_cases_feedback",
        summary="The customer's satisfaction (1-5) after the case was resolved, once",
        request=CaseFeedbackSerializer,
        responses={200: CaseSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        user = signed_in(request)
        selectors.case_for(user, case_id)
        given = CaseFeedbackSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        case = services.case_rate(
            by=user, case_id=case_id, satisfaction=data["satisfaction"], comment=data["comment"]
        )
        return Response(CaseSerializer(case).data)


urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/", CaseListApi.as_view(), name="case-list"),
    path("cases/<int:case_id>/", CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:case_id>/transition/", CaseStepApi.as_view(), name="case-transition"),
    path("cases/<int:case_id>/feedback/", CaseFeedbackApi.as_view(), name="case-feedback"),
]
