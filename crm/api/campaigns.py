"""The marketing campaigns' API under ``/api/v1/crm/``: list (status filter, keyset pages),
create, one campaign with its figures, edit (PATCH, the status one step along planned →
running → done), its members (keyset pages; add by account ids or from the segment) and a
member's response. Each view parses with an input serializer, calls a selector or a service
and answers with an output serializer; a campaign the caller may not see answers 404, one
they see but may not change 403, a done campaign's members 409, bad input 400 naming the
field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import AccountLevel, Campaign, CampaignMember, Industry
from crm.selectors import campaigns as selectors
from crm.services import campaigns as services
from portal.api import (
    KEYSET_PARAMETERS,
    KeysetPage,
    TokenHasViewScope,
    error_responses,
    page_serializer,
)
from portal.http import signed_in
from portal.keyset import Source

TAGS = ["crm: campaigns"]
STATUS_HELP = "planned, running or done"


class SegmentSerializer(serializers.Serializer[Any]):
    """A campaign's segment: each filter optional; lists match any of their values."""

    provinces = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=50
    )
    cities = serializers.ListField(
        child=serializers.CharField(max_length=30), required=False, max_length=50
    )
    industries = serializers.ListField(
        child=serializers.CharField(max_length=20),
        required=False,
        max_length=len(Industry.values),
        help_text="industry codes: " + ", ".join(Industry.values),
    )
    levels = serializers.ListField(
        child=serializers.CharField(max_length=1),
        required=False,
        max_length=len(AccountLevel.values),
        help_text="account levels: " + ", ".join(AccountLevel.values),
    )
    department = serializers.IntegerField(
        required=False, min_value=1, help_text="the owner's department, with those below it"
    )
    owner = serializers.IntegerField(required=False, min_value=1, help_text="a user id")
    activity = serializers.ChoiceField(
        choices=list(selectors.ACTIVITY_CHOICES),
        required=False,
        help_text="within: some activity within activity_days; not_within: none within them",
    )
    activity_days = serializers.IntegerField(required=False, min_value=1, max_value=3650)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: [_("This filter is unknown.")] for key in unknown}
                )
        return super().to_internal_value(data)


class FiguresSerializer(serializers.Serializer[Any]):
    members = serializers.IntegerField()
    responded = serializers.IntegerField()
    response_rate = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text="a fraction; null: no member"
    )
    leads = serializers.IntegerField()
    opportunities = serializers.IntegerField()
    won = serializers.IntegerField(help_text="opportunities won")
    won_revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    roi = serializers.DecimalField(
        max_digits=20,
        decimal_places=4,
        allow_null=True,
        help_text="(won_revenue - cost) / cost as a fraction; null when the cost is 0",
    )
    cost_per_lead = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    owner = serializers.CharField(source="owner.username", read_only=True)
    # plain text, not an enum: drf-spectacular would name the same choices twice
    status = serializers.CharField(read_only=True, help_text=STATUS_HELP)
    segment = SegmentSerializer(read_only=True)
    figures = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "channel",
            "status",
            "starts_on",
            "ends_on",
            "cost",
            "segment",
            "owner",
            "created_at",
            "figures",
        ]
        read_only_fields = fields

    @extend_schema_field(FiguresSerializer)
    def get_figures(self, campaign: Campaign) -> dict[str, Any]:
        if hasattr(campaign, "member_count"):
            figures = selectors.results_of(campaign)
        else:
            figures = selectors.campaign_results(campaign)
        return dict(FiguresSerializer(figures).data)


CampaignPage = page_serializer(CampaignSerializer, "CrmCampaignPage")


class MemberSerializer(serializers.ModelSerializer[CampaignMember]):
    account = serializers.IntegerField(source="account_id", read_only=True)
    account_code = serializers.CharField(source="account.code", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    contact = serializers.IntegerField(source="contact_id", read_only=True, allow_null=True)

    class Meta:
        model = CampaignMember
        fields = [
            "id",
            "account",
            "account_code",
            "account_name",
            "contact",
            "added_at",
            "responded_at",
            "response",
        ]
        read_only_fields = fields


MemberPage = page_serializer(MemberSerializer, "CrmCampaignMemberPage")


class CampaignListQuerySerializer(serializers.Serializer[Any]):
    status = serializers.CharField(required=False, max_length=8, help_text=STATUS_HELP)

    def validate_status(self, value: str) -> str:
        if value not in Campaign.Status.values:
            raise serializers.ValidationError(_("Choose one of the offered values."))
        return value

    mine = serializers.BooleanField(required=False, help_text="only the campaigns I own")


class CampaignCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    channel = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    starts_on = serializers.DateField(required=False, allow_null=True, default=None)
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)
    cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, default=Decimal("0")
    )
    segment = SegmentSerializer(required=False)


class CampaignPatchSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    channel = serializers.CharField(max_length=60, required=False, allow_blank=True)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    segment = SegmentSerializer(required=False, help_text="replaces the whole segment")
    status = serializers.CharField(
        required=False, max_length=8, help_text="one step: planned → running → done"
    )


class MembersAddSerializer(serializers.Serializer[Any]):
    accounts = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=services.MAX_IDS,
        help_text="ids of accounts the caller sees",
    )
    from_segment = serializers.BooleanField(
        required=False, default=False, help_text="add the segment's accounts the caller sees"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("accounts")) == bool(attrs.get("from_segment")):
            raise serializers.ValidationError(
                {"accounts": [_("Give either account ids or from_segment: true.")]}
            )
        return attrs


class MembersAddedSerializer(serializers.Serializer[Any]):
    added = serializers.IntegerField(help_text="new members; those already there are kept")
    members = serializers.IntegerField(help_text="members of the campaign now")


class ResponseSerializer(serializers.Serializer[Any]):
    response = serializers.CharField(max_length=200)
    responded_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="default: today"
    )
    contact = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
    follow_up = serializers.ChoiceField(
        choices=["", "lead", "opportunity"],
        required=False,
        default="",
        help_text="make a lead or an opportunity linked to the campaign",
    )
    opportunity_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )
    expected_close = serializers.DateField(required=False, allow_null=True, default=None)


class ResponseResultSerializer(serializers.Serializer[Any]):
    member = MemberSerializer()
    lead = serializers.IntegerField(source="lead.pk", allow_null=True, default=None)
    opportunity = serializers.IntegerField(source="opportunity.pk", allow_null=True, default=None)


class CampaignListApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_campaigns_list",
        summary="Campaigns the caller sees with their figures, newest first",
        parameters=[CampaignListQuerySerializer, *KEYSET_PARAMETERS],
        responses={200: CampaignPage, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        query = CampaignListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        rows = selectors.campaigns_for(user).select_related("owner")
        if given.get("status"):
            rows = rows.filter(status=given["status"])
        if given.get("mine"):
            rows = rows.filter(owner=user)
        page = KeysetPage(request)
        found = page.rows(Source(selectors.with_figures(rows), field="created_at"))
        return page.response(CampaignSerializer(found, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="crm_campaigns_create",
        summary="Create a planned campaign with its segment (crm.add_campaign or sales admin)",
        request=CampaignCreateSerializer,
        responses={201: CampaignSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        user = signed_in(request)
        if not selectors.campaign_may_create(user):
            raise PermissionDenied(_("You may not create campaigns."))
        given = CampaignCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        campaign = services.campaign_create(by=user, **data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_campaigns_retrieve",
        summary="One campaign with its figures (members, responses, leads, won revenue, ROI)",
        responses={200: CampaignSerializer, **error_responses(404)},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = selectors.campaign_for(signed_in(request), campaign_id)
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(
        tags=TAGS,
        operation_id="crm_campaigns_partial_update",
        summary="Edit a campaign; status moves one step (planned → running → done)",
        request=CampaignPatchSerializer,
        responses={200: CampaignSerializer, **error_responses(400, 404)},
    )
    def patch(self, request: Request, campaign_id: int) -> Response:
        user = signed_in(request)
        selectors.campaign_for(user, campaign_id)
        given = CampaignPatchSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        campaign = services.campaign_update(campaign_id, by=user, **given.validated_data)
        return Response(CampaignSerializer(selectors.campaign_for(user, campaign.pk)).data)


class CampaignMembersApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_campaigns_members_list",
        summary="The campaign's members whose accounts the caller sees, newest first",
        parameters=KEYSET_PARAMETERS,
        responses={200: MemberPage, **error_responses(400, 404)},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        user = signed_in(request)
        campaign = selectors.campaign_for(user, campaign_id)
        page = KeysetPage(request)
        found = page.rows(Source(selectors.members_for(user, campaign), field="added_at"))
        return page.response(MemberSerializer(found, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="crm_campaigns_members_add",
        summary="Add accounts by id, or the segment's accounts; members already there are kept",
        request=MembersAddSerializer,
        responses={200: MembersAddedSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        user = signed_in(request)
        campaign = selectors.campaign_for(user, campaign_id)
        given = MembersAddSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if data.get("from_segment"):
            added = services.campaign_members_add_segment(by=user, campaign_id=campaign.pk)
        else:
            added = services.campaign_members_add(
                by=user, campaign_id=campaign.pk, account_ids=data["accounts"]
            )
        total = campaign.members.count()
        return Response(MembersAddedSerializer({"added": added, "members": total}).data)


class CampaignMemberResponseApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_campaigns_member_response",
        summary="Record a member's response; optionally a lead or opportunity from it",
        request=ResponseSerializer,
        responses={200: ResponseResultSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request, campaign_id: int, member_id: int) -> Response:
        user = signed_in(request)
        campaign = selectors.campaign_for(user, campaign_id)
        selectors.campaign_member_for(user, campaign, member_id)
        given = ResponseSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        result = services.campaign_member_respond(
            by=user,
            campaign_id=campaign.pk,
            member_id=member_id,
            response=data["response"],
            responded_on=data["responded_on"],
            contact_id=data["contact"],
            follow_up=data["follow_up"],
            opportunity_name=data["opportunity_name"],
            amount=data["amount"],
            expected_close=data["expected_close"],
        )
        return Response(ResponseResultSerializer(result).data)


urlpatterns: list[URLPattern | URLResolver] = [
    path("campaigns/", CampaignListApi.as_view(), name="campaign-list"),
    path("campaigns/<int:campaign_id>/", CampaignDetailApi.as_view(), name="campaign-detail"),
    path(
        "campaigns/<int:campaign_id>/members/",
        CampaignMembersApi.as_view(),
        name="campaign-members",
    ),
    path(
        "campaigns/<int:campaign_id>/members/<int:member_id>/response/",
        CampaignMemberResponseApi.as_view(),
        name="campaign-member-response",
    ),
]
