"""The CRM's quotes API (``/api/v1/crm/quotes/``): list (keyset pages, ``?status=``,
``?account=``), detail with lines and the ERP order, create, replace the lines, submit,
accept (the customer's acceptance: the ERP sales order goes into the outbox), retry a
refused order. One view per action with an input and an output serializer; the serializers
validate shapes, the service decides (prices, totals, who may). A quote of an account one
may not see answers 404."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import Quote, QuoteStatus
from crm.selectors import quotes as selectors
from crm.services import quotes as services
from portal.api import (
    KEYSET_PARAMETERS,
    KeysetPage,
    TokenHasViewScope,
    error_responses,
    page_serializer,
)
from portal.http import signed_in
from portal.keyset import Source

TAGS = ["crm: quotes"]


class LineSerializer(serializers.Serializer[Any]):
    product_code = serializers.CharField()
    product_name = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    list_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount = serializers.DecimalField(max_digits=5, decimal_places=2)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class OrderSerializer(serializers.Serializer[Any]):
    number = serializers.CharField(allow_blank=True, allow_null=True)
    state = serializers.CharField(allow_null=True)
    shipped = serializers.BooleanField()
    invoiced = serializers.BooleanField()
    paid = serializers.BooleanField()
    refusal = serializers.CharField(allow_blank=True, help_text="the ERP's refusal, if any")
    waiting = serializers.BooleanField(help_text="on its way to the ERP")


class QuoteSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    account = serializers.IntegerField(source="account_id")
    opportunity = serializers.IntegerField(source="opportunity_id", allow_null=True)
    price_list_code = serializers.CharField(allow_blank=True)
    currency = serializers.CharField()
    status = serializers.CharField(help_text="draft, pending, approved, accepted, ordered")
    list_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount = serializers.DecimalField(max_digits=5, decimal_places=2)
    valid_until = serializers.DateField(allow_null=True)
    approval_level = serializers.CharField(allow_blank=True)
    approval_instance = serializers.IntegerField(source="approval_instance_id", allow_null=True)
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()


class QuoteDetailSerializer(QuoteSerializer):
    notes = serializers.CharField(allow_blank=True)
    lines = LineSerializer(many=True)
    order = OrderSerializer(allow_null=True)


QuotePage = page_serializer(QuoteSerializer, "CrmQuotePage")


def _status(quote: Quote, order: Any | None) -> str:
    return selectors.shown_status(quote, order)[0]


def _detail(quote: Quote) -> dict[str, Any]:
    state = selectors.order_state(quote)
    order = state.order if state else None
    data = dict(QuoteSerializer(quote).data)
    data["status"] = _status(quote, order)
    data["notes"] = quote.notes
    data["lines"] = LineSerializer(quote.lines.all(), many=True).data
    data["order"] = (
        None
        if state is None
        else {
            "number": order.number if order else None,
            "state": order.state if order else None,
            "shipped": bool(order and order.shipped),
            "invoiced": bool(order and order.invoiced),
            "paid": bool(order and order.paid),
            "refusal": state.refusal,
            "waiting": state.waiting,
        }
    )
    return data


class LineInputSerializer(serializers.Serializer[Any]):
    product_code = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True
    )
    unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )


class LinesInputSerializer(serializers.Serializer[Any]):
    lines = serializers.ListField(child=LineInputSerializer(), max_length=services.MAX_LINES)
    price_list_code = serializers.CharField(max_length=40, required=False, allow_blank=True)
    valid_until = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class CreateInputSerializer(LinesInputSerializer):
    account = serializers.IntegerField()
    opportunity = serializers.IntegerField(required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False, default="CNY")


class AcceptInputSerializer(serializers.Serializer[Any]):
    confirmed = serializers.BooleanField(help_text="the customer accepted the quote")


def _lines(data: dict[str, Any]) -> list[services.LineInput]:
    return [
        services.LineInput(
            product_code=line["product_code"],
            quantity=line["quantity"],
            discount=line.get("discount"),
            unit_price=line.get("unit_price"),
        )
        for line in data["lines"]
    ]


class QuoteListApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_quotes_list",
        summary="Quotes of the accounts one sees, newest first",
        parameters=[
            *KEYSET_PARAMETERS,
            OpenApiParameter("status", str, enum=QuoteStatus.values),
            OpenApiParameter("account", int),
        ],
        responses={200: QuotePage, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.quotes_for(signed_in(request))
        status = request.query_params.get("status", "")
        if status:
            if status not in QuoteStatus.values:
                raise serializers.ValidationError({"status": ["Not a quote status."]})
            rows = rows.filter(status=status)
        account = request.query_params.get("account", "")
        if account:
            if not account.isdigit():
                raise serializers.ValidationError({"account": ["An account id is a number."]})
            rows = rows.filter(account_id=int(account))
        page = KeysetPage(request)
        quotes = page.rows(Source(rows, field="created_at"))
        orders = selectors.orders_of(quotes)
        data = []
        for quote in quotes:
            item = dict(QuoteSerializer(quote).data)
            item["status"] = _status(quote, orders.get(quote.order_reference))
            data.append(item)
        return page.response(data)

    @extend_schema(
        tags=TAGS,
        operation_id="crm_quotes_create",
        summary="Make a draft quote priced from the ERP's products and price list",
        request=CreateInputSerializer,
        responses={201: QuoteDetailSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request) -> Response:
        given = CreateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        quote = services.quote_create(
            by=signed_in(request),
            account_id=data["account"],
            opportunity_id=data.get("opportunity"),
            price_list_code=data.get("price_list_code") or "",
            currency=data.get("currency") or "CNY",
            valid_until=data.get("valid_until"),
            notes=data.get("notes") or "",
            lines=_lines(data),
        )
        return Response(_detail(quote), status=201)


class QuoteDetailApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_quotes_retrieve",
        summary="One quote with its lines and its ERP order",
        responses={200: QuoteDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(selectors.quote_for(signed_in(request), pk)))


class QuoteLinesApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_quotes_lines_update",
        summary="Replace a draft's lines (a returned quote becomes a draft again)",
        request=LinesInputSerializer,
        responses={200: QuoteDetailSerializer, **error_responses(400, 404, 409)},
    )
    def put(self, request: Request, pk: int) -> Response:
        user = signed_in(request)
        selectors.quote_for(user, pk)
        given = LinesInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        quote = services.quote_update(
            by=user,
            quote_id=pk,
            lines=_lines(data),
            price_list_code=data.get("price_list_code"),
            valid_until=data.get("valid_until"),
            notes=data.get("notes"),
        )
        return Response(_detail(quote))


class QuoteSubmitApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_quotes_submit",
        summary="Submit a draft: approved at once, or its approval starts",
        request=None,
        responses={200: QuoteDetailSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in(request)
        selectors.quote_for(user, pk)
        return Response(_detail(services.quote_submit(by=user, quote_id=pk)))


class QuoteAcceptApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_quotes_accept",
        summary="The customer accepted an approved quote: its sales order goes to the ERP",
        request=AcceptInputSerializer,
        responses={200: QuoteDetailSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in(request)
        selectors.quote_for(user, pk)
        given = AcceptInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        quote = services.quote_accept(
            by=user, quote_id=pk, confirmed=given.validated_data["confirmed"]
        )
        return Response(_detail(quote))


class QuoteRetryApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope]

    @extend_schema(
        tags=TAGS,
        operation_id="crm_quotes_retry",
        summary="Send a sales order the ERP refused again (after fixing the cause)",
        request=None,
        responses={200: QuoteDetailSerializer, **error_responses(404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in(request)
        selectors.quote_for(user, pk)
        return Response(_detail(services.quote_order_retry(by=user, quote_id=pk)))


urlpatterns: list[URLPattern | URLResolver] = [
    path("quotes/", QuoteListApi.as_view(), name="quote-list"),
    path("quotes/<int:pk>/", QuoteDetailApi.as_view(), name="quote-detail"),
    path("quotes/<int:pk>/lines/", QuoteLinesApi.as_view(), name="quote-lines"),
    path("quotes/<int:pk>/submit/", QuoteSubmitApi.as_view(), name="quote-submit"),
    path("quotes/<int:pk>/accept/", QuoteAcceptApi.as_view(), name="quote-accept"),
    path("quotes/<int:pk>/retry/", QuoteRetryApi.as_view(), name="quote-retry"),
]
