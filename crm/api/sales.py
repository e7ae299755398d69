"""``/api/v1/crm/``: leads, opportunities and activities.

One view per action with its input and output serializers; the view calls
``crm.services.sales`` or ``crm.selectors.sales``. What the caller may not see answers 404
(a lead through its owner, the rest through its account); bad input answers 400 with the
field errors (the services' own, in the caller's language).

- ``GET|POST leads/`` keyset pages, newest first (``status``); create (assignment rules);
- ``POST leads/<id>/convert`` account + contact + opportunity in one step (a likely
  duplicate the caller sees: 400 on ``account``, unless ``account`` names one to attach to
  or ``create_anyway``);
- ``GET|POST opportunities/`` (``stage``, ``owner``, ``account``, ``department``); create;
- ``POST opportunities/<id>/move`` the one door of a stage change (its rules:
  ``crm.services.sales``);
- ``GET|POST activities/`` (``account`` or ``opportunity`` required); log or schedule;
- ``POST activities/<id>/done``.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import ActivityKind, Industry, LeadSource, LeadStatus, Stage
from crm.selectors import sales as selectors
from crm.selectors.visibility import account_for
from crm.services import sales as services
from portal.api import KEYSET_PARAMETERS, KeysetPage, error_responses, page_serializer
from portal.http import signed_in
from portal.keyset import Source
from portal.models import Department

TAGS_LEADS = ["crm: leads"]
TAGS_OPPORTUNITIES = ["crm: opportunities"]
TAGS_ACTIVITIES = ["crm: activities"]

# --- serializers ---------------------------------------------------------------------------------


class LeadSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    company = serializers.CharField()
    contact_name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    source = serializers.ChoiceField(choices=LeadSource.choices)  # type: ignore[assignment]  # the field is called source
    industry = serializers.ChoiceField(choices=Industry.choices)
    province = serializers.CharField()
    city = serializers.CharField()
    status = serializers.ChoiceField(choices=LeadStatus.choices)
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    disqualified_reason = serializers.CharField()
    converted_account = serializers.IntegerField(source="converted_account_id", allow_null=True)
    converted_opportunity = serializers.IntegerField(
        source="converted_opportunity_id", allow_null=True
    )
    created_at = serializers.DateTimeField()


class LeadQuerySerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)


class LeadCreateSerializer(serializers.Serializer[Any]):
    company = serializers.CharField(max_length=200)
    contact_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=LeadSource.choices, default=LeadSource.OTHER)  # type: ignore[assignment]
    industry = serializers.ChoiceField(choices=Industry.choices, default=Industry.OTHER)
    province = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=30, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    assign_to_me = serializers.BooleanField(
        default=False, help_text="take the lead oneself instead of the assignment rules"
    )


class LeadConvertSerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField(
        required=False, allow_null=True, help_text="attach to this existing account"
    )
    create_anyway = serializers.BooleanField(
        default=False, help_text="a new account although likely duplicates exist"
    )
    credit_code = serializers.CharField(max_length=18, required=False, allow_blank=True)
    opportunity_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    expected_close = serializers.DateField(required=False, allow_null=True)


class ConvertedSerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField()
    contact = serializers.IntegerField(allow_null=True)
    opportunity = serializers.IntegerField()
    attached = serializers.BooleanField(help_text="to an existing account")


class OpportunitySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    account = serializers.IntegerField(source="account_id")
    account_name = serializers.CharField(source="account.name")
    contact = serializers.IntegerField(source="contact_id", allow_null=True)
    stage = serializers.ChoiceField(choices=Stage.choices)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    probability = serializers.IntegerField()
    expected_close = serializers.DateField(allow_null=True)
    committed = serializers.BooleanField()
    competitors = serializers.CharField()
    lost_reason = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    position = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    stage_changed_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class OpportunityQuerySerializer(serializers.Serializer[Any]):
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    owner = serializers.CharField(required=False, help_text="the owner's user name")
    account = serializers.IntegerField(required=False)
    department = serializers.CharField(
        required=False, help_text="a department's code: its owners and those below it"
    )


class OpportunityCreateSerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    expected_close = serializers.DateField(required=False, allow_null=True)
    contact = serializers.IntegerField(required=False, allow_null=True)
    competitors = serializers.CharField(max_length=200, required=False, allow_blank=True)
    committed = serializers.BooleanField(default=False)


class MoveSerializer(serializers.Serializer[Any]):
    stage = serializers.ChoiceField(choices=Stage.choices)
    position = serializers.IntegerField(
        required=False, allow_null=True, help_text="the place in the column; absent: the top"
    )
    lost_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    probability = serializers.IntegerField(
        required=False, allow_null=True, help_text="absent: the stage's default"
    )


class ActivitySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    subject = serializers.CharField()
    notes = serializers.CharField()
    account = serializers.IntegerField(source="account_id")
    contact = serializers.IntegerField(source="contact_id", allow_null=True)
    opportunity = serializers.IntegerField(source="opportunity_id", allow_null=True)
    owner = serializers.CharField(source="owner.username")
    at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    remind_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)


class ActivityQuerySerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField(required=False)
    opportunity = serializers.IntegerField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("account") and not attrs.get("opportunity"):
            raise serializers.ValidationError(
                {"account": [_("Give an account or an opportunity.")]}
            )
        return attrs


class ActivityCreateSerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    subject = serializers.CharField(max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True)
    contact = serializers.IntegerField(required=False, allow_null=True)
    opportunity = serializers.IntegerField(required=False, allow_null=True)
    at = serializers.DateTimeField(required=False, allow_null=True)
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    remind_at = serializers.DateTimeField(required=False, allow_null=True)


LeadPage = page_serializer(LeadSerializer, "CrmLeadPage")
OpportunityPage = page_serializer(OpportunitySerializer, "CrmOpportunityPage")
ActivityPage = page_serializer(ActivitySerializer, "CrmActivityPage")


def _given(serializer: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    found = serializer(data=data)
    found.is_valid(raise_exception=True)
    return dict(found.validated_data)


# --- leads ---------------------------------------------------------------------------------------


class LeadListApi(APIView):
    @extend_schema(
        tags=TAGS_LEADS,
        operation_id="crm_leads_list",
        summary="Leads the caller sees, newest first",
        parameters=[LeadQuerySerializer, *KEYSET_PARAMETERS],
        responses={200: LeadPage, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        query = _given(LeadQuerySerializer, request.query_params)
        rows = selectors.leads_for(signed_in(request)).select_related("owner")
        if query.get("status"):
            rows = rows.filter(status=query["status"])
        page = KeysetPage(request)
        found = page.rows(Source(rows, field="created_at"))
        return page.response(LeadSerializer(found, many=True).data)

    @extend_schema(
        tags=TAGS_LEADS,
        operation_id="crm_leads_create",
        summary="A new lead (its owner by the assignment rules unless assign_to_me)",
        request=LeadCreateSerializer,
        responses={201: LeadSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        lead = services.lead_create(
            by=signed_in(request), **_given(LeadCreateSerializer, request.data)
        )
        return Response(LeadSerializer(lead).data, status=201)


class LeadConvertApi(APIView):
    @extend_schema(
        tags=TAGS_LEADS,
        operation_id="crm_leads_convert",
        summary="Convert a lead into account + contact + opportunity in one step",
        request=LeadConvertSerializer,
        responses={201: ConvertedSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request, lead_id: int) -> Response:
        user = signed_in(request)
        selectors.lead_for(user, lead_id)  # 404 before the input is judged
        data = _given(LeadConvertSerializer, request.data)
        result = services.lead_convert(
            lead_id,
            by=user,
            account_id=data.get("account"),
            create_anyway=data["create_anyway"],
            credit_code=data.get("credit_code", ""),
            opportunity_name=data.get("opportunity_name", ""),
            amount=data.get("amount"),
            expected_close=data.get("expected_close"),
        )
        answer = {
            "account": result.account.pk,
            "contact": result.contact.pk if result.contact else None,
            "opportunity": result.opportunity.pk,
            "attached": result.attached,
        }
        return Response(ConvertedSerializer(answer).data, status=201)


# --- opportunities -------------------------------------------------------------------------------


class OpportunityListApi(APIView):
    @extend_schema(
        tags=TAGS_OPPORTUNITIES,
        operation_id="crm_opportunities_list",
        summary="Opportunities of the accounts the caller sees, newest first",
        parameters=[OpportunityQuerySerializer, *KEYSET_PARAMETERS],
        responses={200: OpportunityPage, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        query = _given(OpportunityQuerySerializer, request.query_params)
        rows = selectors.opportunities_for(signed_in(request)).select_related("account", "owner")
        if query.get("stage"):
            rows = rows.filter(stage=query["stage"])
        if query.get("owner"):
            rows = rows.filter(owner__username=query["owner"])
        if query.get("account"):
            rows = rows.filter(account_id=query["account"])
        if query.get("department"):
            department = Department.objects.filter(code=query["department"]).first()
            if department is None:
                raise exceptions.ValidationError(
                    {"department": [_("There is no such department.")]}
                )
            rows = selectors.filtered(rows, department=department)
        page = KeysetPage(request)
        found = page.rows(Source(rows, field="created_at"))
        return page.response(OpportunitySerializer(found, many=True).data)

    @extend_schema(
        tags=TAGS_OPPORTUNITIES,
        operation_id="crm_opportunities_create",
        summary="A new opportunity on an account the caller sees (qualification stage)",
        request=OpportunityCreateSerializer,
        responses={201: OpportunitySerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request) -> Response:
        user = signed_in(request)
        data = _given(OpportunityCreateSerializer, request.data)
        created = services.opportunity_create(
            by=user,
            account_id=data["account"],
            name=data["name"],
            amount=data.get("amount"),
            expected_close=data.get("expected_close"),
            contact_id=data.get("contact"),
            competitors=data.get("competitors", ""),
            committed=data["committed"],
        )
        return Response(
            OpportunitySerializer(selectors.opportunity_for(user, created.pk)).data, status=201
        )


class OpportunityMoveApi(APIView):
    @extend_schema(
        tags=TAGS_OPPORTUNITIES,
        operation_id="crm_opportunities_move",
        summary="Move an opportunity to a stage (proposal on: amount and expected close; "
        "lost: a reason)",
        request=MoveSerializer,
        responses={200: OpportunitySerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request, opportunity_id: int) -> Response:
        user = signed_in(request)
        selectors.opportunity_for(user, opportunity_id)
        data = _given(MoveSerializer, request.data)
        services.opportunity_move(
            opportunity_id,
            by=user,
            stage=data["stage"],
            position=data.get("position"),
            lost_reason=data.get("lost_reason", ""),
            probability=data.get("probability"),
        )
        return Response(OpportunitySerializer(selectors.opportunity_for(user, opportunity_id)).data)


# --- activities ----------------------------------------------------------------------------------


class ActivityListApi(APIView):
    @extend_schema(
        tags=TAGS_ACTIVITIES,
        operation_id="crm_activities_list",
        summary="The activities of an account or an opportunity, newest first",
        parameters=[ActivityQuerySerializer, *KEYSET_PARAMETERS],
        responses={200: ActivityPage, **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        query = _given(ActivityQuerySerializer, request.query_params)
        rows = selectors.activities_for(user).select_related("owner")
        if query.get("account"):
            rows = rows.filter(account=account_for(user, query["account"]))
        if query.get("opportunity"):
            rows = rows.filter(opportunity=selectors.opportunity_for(user, query["opportunity"]))
        page = KeysetPage(request)
        found = page.rows(Source(rows, field="at"))
        return page.response(ActivitySerializer(found, many=True).data)

    @extend_schema(
        tags=TAGS_ACTIVITIES,
        operation_id="crm_activities_create",
        summary="Log a call, visit, meeting or e-mail, or schedule a follow-up (due_at)",
        request=ActivityCreateSerializer,
        responses={201: ActivitySerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request) -> Response:
        data = _given(ActivityCreateSerializer, request.data)
        activity = services.activity_log(
            by=signed_in(request),
            account_id=data["account"],
            kind=data["kind"],
            subject=data["subject"],
            notes=data.get("notes", ""),
            contact_id=data.get("contact"),
            opportunity_id=data.get("opportunity"),
            at=data.get("at"),
            due_at=data.get("due_at"),
            remind_at=data.get("remind_at"),
        )
        return Response(ActivitySerializer(activity).data, status=201)


class ActivityDoneApi(APIView):
    @extend_schema(
        tags=TAGS_ACTIVITIES,
        operation_id="crm_activities_done",
        summary="Mark a follow-up done",
        request=None,
        responses={200: ActivitySerializer, **error_responses(404)},
    )
    def post(self, request: Request, activity_id: int) -> Response:
        activity = services.activity_done(activity_id, by=signed_in(request))
        return Response(ActivitySerializer(activity).data)


urlpatterns: list[URLPattern | URLResolver] = [
    path("leads/", LeadListApi.as_view(), name="leads"),
    path("leads/<int:lead_id>/convert", LeadConvertApi.as_view(), name="lead-convert"),
    path("opportunities/", OpportunityListApi.as_view(), name="opportunities"),
    path(
        "opportunities/<int:opportunity_id>/move",
        OpportunityMoveApi.as_view(),
        name="opportunity-move",
    ),
    path("activities/", ActivityListApi.as_view(), name="activities"),
    path("activities/<int:activity_id>/done", ActivityDoneApi.as_view(), name="activity-done"),
]
