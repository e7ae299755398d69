"""The ERP bridge's API: the master data's read copies (products, price lists, customers,
and for HR staff the ERP's employees), the sales orders sent to the ERP with their status,
and for integration administrators the outbox with replay and discard.

Reference data are read-only ViewSets (house style); replay and discard are one view per
action that calls the outbox's service. Lists take ``?q=`` (a code's beginning or a part of
the name) and ``limit``/``offset``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission, DjangoModelPermissions, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from erp_bridge.api import serializers as s
from erp_bridge.models import (
    Customer,
    EmployeeRecord,
    OrderRecord,
    OutboxMessage,
    PriceList,
    Product,
)
from erp_bridge.outbox import outbox_discard, outbox_replay
from portal.api import TokenHasViewScope, error_responses
from portal.http import signed_in


class Pages(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class CanView(DjangoModelPermissions):
    """Reading needs the model's view permission too (HR data, orders, the outbox)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


def matching(rows: QuerySet[Any], request: Request) -> QuerySet[Any]:
    given = s.SearchQuerySerializer(data=request.query_params)
    given.is_valid(raise_exception=True)
    text = str(given.validated_data.get("q") or "").strip()
    if text:
        rows = rows.filter(Q(code__istartswith=text) | Q(name__icontains=text))
    return rows


class MasterData(viewsets.ReadOnlyModelViewSet[Any]):
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"
    pagination_class = Pages
    permission_classes = [IsAuthenticated, TokenHasViewScope]
    model: type[Any]

    def get_queryset(self) -> QuerySet[Any]:
        return matching(self.model.objects.order_by("code"), self.request)


@extend_schema_view(
    list=extend_schema(
        responses={200: s.ProductPage, **error_responses(400)},
        summary="Products (the local copy of the ERP's)",
        tags=["erp: master data"],
        parameters=[s.SearchQuerySerializer],
    ),
    retrieve=extend_schema(
        responses={200: s.ProductSerializer, **error_responses(404)},
        summary="One product by its code",
        tags=["erp: master data"],
    ),
)
class ProductViewSet(MasterData):
    """Products as the ERP has them (the local read copy)."""

    model = Product
    serializer_class = s.ProductSerializer


@extend_schema_view(
    list=extend_schema(
        responses={200: s.PriceListPage, **error_responses(400)},
        summary="Price lists with their lines",
        tags=["erp: master data"],
        parameters=[s.SearchQuerySerializer],
    ),
    retrieve=extend_schema(
        responses={200: s.PriceListSerializer, **error_responses(404)},
        summary="One price list by its code",
        tags=["erp: master data"],
    ),
)
class PriceListViewSet(MasterData):
    model = PriceList
    serializer_class = s.PriceListSerializer

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().prefetch_related("lines__product")


@extend_schema_view(
    list=extend_schema(
        responses={200: s.CustomerPage, **error_responses(400)},
        summary="Customers (the local copy of the ERP's)",
        tags=["erp: master data"],
        parameters=[s.SearchQuerySerializer],
    ),
    retrieve=extend_schema(
        responses={200: s.CustomerSerializer, **error_responses(404)},
        summary="One customer by its code",
        tags=["erp: master data"],
    ),
)
class CustomerViewSet(MasterData):
    model = Customer
    serializer_class = s.CustomerSerializer


@extend_schema_view(
    list=extend_schema(
        responses={200: s.EmployeeRecordPage, **error_responses(400)},
        summary="The ERP's employees (HR data; needs the view permission)",
        tags=["erp: master data"],
        parameters=[s.SearchQuerySerializer],
    ),
    retrieve=extend_schema(
        responses={200: s.EmployeeRecordSerializer, **error_responses(404)},
        summary="One of the ERP's employees by employee number",
        tags=["erp: master data"],
    ),
)
class EmployeeRecordViewSet(MasterData):
    """The ERP's employees: HR data, for those who may view them."""

    model = EmployeeRecord
    serializer_class = s.EmployeeRecordSerializer
    permission_classes = [IsAuthenticated, TokenHasViewScope, CanView]


@extend_schema_view(
    list=extend_schema(
        responses={200: s.OrderRecordPage, **error_responses(400)},
        summary="Sales orders sent to the ERP, newest first",
        tags=["erp: orders"],
    ),
    retrieve=extend_schema(
        responses={200: s.OrderRecordSerializer, **error_responses(404)},
        summary="One sales order by its reference",
        tags=["erp: orders"],
    ),
)
class OrderRecordViewSet(viewsets.ReadOnlyModelViewSet[OrderRecord]):
    """Sales orders sent to the ERP, with the status it last reported."""

    serializer_class = s.OrderRecordSerializer
    lookup_field = "reference"
    lookup_value_regex = r"[^/]+"
    pagination_class = Pages
    permission_classes = [IsAuthenticated, TokenHasViewScope, CanView]
    queryset = OrderRecord.objects.order_by("-created_at", "-id")


class IsIntegrationAdmin(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("erp_bridge.change_outboxmessage"))


@extend_schema_view(
    list=extend_schema(
        responses={200: s.OutboxMessagePage, **error_responses(400)},
        summary="The outbox, newest first (integration administrators)",
        tags=["erp: outbox"],
        parameters=[s.OutboxQuerySerializer],
    ),
    retrieve=extend_schema(
        responses={200: s.OutboxMessageSerializer, **error_responses(404)},
        summary="One outbox message",
        tags=["erp: outbox"],
    ),
)
class OutboxViewSet(viewsets.ReadOnlyModelViewSet[OutboxMessage]):
    """The outbox, for integration administrators."""

    serializer_class = s.OutboxMessageSerializer
    pagination_class = Pages
    permission_classes = [IsAuthenticated, TokenHasViewScope, IsIntegrationAdmin]

    def get_queryset(self) -> QuerySet[OutboxMessage]:
        given = s.OutboxQuerySerializer(data=self.request.query_params)
        given.is_valid(raise_exception=True)
        rows = OutboxMessage.objects.order_by("-id")
        for name in ("state", "operation", "aggregate"):
            if given.validated_data.get(name):
                rows = rows.filter(**{name: given.validated_data[name]})
        return rows


class OutboxReplayApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope, IsIntegrationAdmin]

    @extend_schema(
        tags=["erp: outbox"],
        operation_id="erp_outbox_replay",
        summary="Put a dead letter back in line (its tries counted afresh)",
        request=None,
        responses={200: s.OutboxMessageSerializer, **error_responses(404, 409)},
    )
    def post(self, request: Request, message_id: int) -> Response:
        message = outbox_replay(message_id, by=signed_in(request))
        return Response(s.OutboxMessageSerializer(message).data)


class OutboxDiscardApi(APIView):
    permission_classes = [IsAuthenticated, TokenHasViewScope, IsIntegrationAdmin]

    @extend_schema(
        tags=["erp: outbox"],
        operation_id="erp_outbox_discard",
        summary="Give up a dead or waiting message (the ones behind it go on)",
        request=None,
        responses={200: s.OutboxMessageSerializer, **error_responses(404, 409)},
    )
    def post(self, request: Request, message_id: int) -> Response:
        message = outbox_discard(message_id, by=signed_in(request))
        return Response(s.OutboxMessageSerializer(message).data)
