"""The ERP bridge's API serializers: they shape answers and validate input, never save."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from erp_bridge.models import (
    Customer,
    EmployeeRecord,
    OrderRecord,
    OutboxMessage,
    PriceList,
    PriceListLine,
    Product,
)


class ProductSerializer(serializers.ModelSerializer[Product]):
    class Meta:
        model = Product
        fields = ["code", "name", "unit", "list_price", "currency", "active", "synced_at"]


class PriceListLineSerializer(serializers.ModelSerializer[PriceListLine]):
    product = serializers.CharField(source="product.code")

    class Meta:
        model = PriceListLine
        fields = ["product", "price", "min_quantity"]


class PriceListSerializer(serializers.ModelSerializer[PriceList]):
    lines = PriceListLineSerializer(many=True, read_only=True)

    class Meta:
        model = PriceList
        fields = ["code", "name", "currency", "active", "synced_at", "lines"]


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = [
            "code",
            "name",
            "tax_code",
            "phone",
            "email",
            "address",
            "active",
            "synced_at",
        ]


class EmployeeRecordSerializer(serializers.ModelSerializer[EmployeeRecord]):
    class Meta:
        model = EmployeeRecord
        fields = ["code", "name", "department_code", "email", "active", "synced_at"]


class OrderRecordSerializer(serializers.ModelSerializer[OrderRecord]):
    class Meta:
        model = OrderRecord
        fields = [
            "reference",
            "customer_code",
            "number",
            "state",
            "shipped",
            "invoiced",
            "paid",
            "total",
            "currency",
            "instance_id",
            "created_at",
            "updated_at",
        ]


class OutboxMessageSerializer(serializers.ModelSerializer[OutboxMessage]):
    class Meta:
        model = OutboxMessage
        fields = [
            "id",
            "operation",
            "aggregate",
            "idempotency_key",
            "state",
            "attempts",
            "next_attempt_at",
            "last_error",
            "error_code",
            "result",
            "instance_id",
            "created_at",
            "delivered_at",
            "settled_by",
        ]


class SearchQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)


class OutboxQuerySerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(
        choices=["pending", "delivered", "dead", "discarded"], required=False
    )
    operation = serializers.CharField(required=False, max_length=64)
    aggregate = serializers.CharField(required=False, max_length=128)


def page_of(
    item: type[serializers.Serializer[Any]], name: str
) -> type[serializers.Serializer[Any]]:
    """The schema of a list page (``limit``/``offset``): count, next, previous, results."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


ProductPage = page_of(ProductSerializer, "ProductPage")
PriceListPage = page_of(PriceListSerializer, "PriceListPage")
CustomerPage = page_of(CustomerSerializer, "CustomerPage")
EmployeeRecordPage = page_of(EmployeeRecordSerializer, "EmployeeRecordPage")
OrderRecordPage = page_of(OrderRecordSerializer, "OrderRecordPage")
OutboxMessagePage = page_of(OutboxMessageSerializer, "OutboxMessagePage")
