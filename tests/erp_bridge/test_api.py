"""The ERP bridge's API as each persona: master data for every signed-in person, the ERP's
employees and the orders for those with the view permission, the outbox for integration
administrators only; replay and discard through the same services as the console."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import Client

from erp_bridge.demo import seed_erp_demo
from erp_bridge.gateway import ErpError
from erp_bridge.models import (
    CallStat,
    EmployeeRecord,
    InterfaceCall,
    OutboxMessage,
    OutboxState,
    Product,
)
from erp_bridge.outbox import Operation, operations, outbox_deliver_due, outbox_put
from portal.models import User

pytestmark = pytest.mark.django_db

API = "/api/v1/erp_bridge/"


@pytest.fixture
def master_data(db: None) -> None:
    seed_erp_demo()


def grant(user: User, *codenames: str) -> User:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)


def test_everyone_signed_in_reads_products_and_customers(
    master_data: None, employee: User, login: Callable[[User], Client], client: Client
) -> None:
    assert client.get(f"{API}products/").status_code in (401, 403)
    signed_in = login(employee)
    answer = signed_in.get(f"{API}products/", {"q": "P000"}).json()
    assert answer["count"] == 8
    assert answer["results"][0] == {
        "code": "P0001",
        "name": "人体工学办公椅",
        "unit": "把",
        "list_price": "1299.00",
        "currency": "CNY",
        "active": True,
        "synced_at": answer["results"][0]["synced_at"],
    }
    assert signed_in.get(f"{API}products/", {"q": "显示器"}).json()["count"] == 1
    assert signed_in.get(f"{API}customers/C0002/").json()["name"] == "杭州云帆科技有限公司"
    assert signed_in.get(f"{API}customers/C9999/").status_code == 404
    lines = signed_in.get(f"{API}price-lists/PL-DEALER/").json()["lines"]
    assert {"product": "P0001", "price": "1169.10", "min_quantity": "0.00"} in lines


def test_the_erps_employees_need_the_view_permission(
    master_data: None, employee: User, hr_admin: User, login: Callable[[User], Client]
) -> None:
    EmployeeRecord.objects.create(code="E000123", name="陈静")
    assert login(employee).get(f"{API}employees/").status_code == 403
    allowed = login(grant(hr_admin, "view_employeerecord"))
    assert allowed.get(f"{API}employees/E000123/").json()["name"] == "陈静"


def test_bad_query_is_a_clear_400(
    master_data: None, employee: User, login: Callable[[User], Client]
) -> None:
    answer = login(employee).get(f"{API}products/", {"q": "x" * 101})
    assert answer.status_code == 400


@pytest.fixture
def refusing() -> object:
    def deliver(message: OutboxMessage) -> dict[str, str]:
        raise ErpError("物料 P9 不存在", permanent=True, code="unknown_product")

    operations["test.refused"] = Operation("test.refused", "test", deliver)
    yield
    del operations["test.refused"]


def test_the_outbox_for_integration_administrators(
    refusing: object, employee: User, outsider: User, login: Callable[[User], Client]
) -> None:
    with transaction.atomic():
        message = outbox_put(operation="test.refused", aggregate="customer:C1", payload={})
    outbox_deliver_due()
    assert login(employee).get(f"{API}outbox/").status_code == 403
    assert login(employee).post(f"{API}outbox/{message.pk}/replay").status_code == 403
    assert OutboxMessage.objects.get(pk=message.pk).state == OutboxState.DEAD
    admin = login(grant(outsider, "change_outboxmessage"))
    listed = admin.get(f"{API}outbox/", {"state": "dead"}).json()
    assert [m["last_error"] for m in listed["results"]] == ["物料 P9 不存在"]
    assert admin.get(f"{API}outbox/", {"state": "lost"}).status_code == 400
    assert admin.post(f"{API}outbox/{message.pk}/replay").json()["state"] == "pending"
    assert admin.post(f"{API}outbox/{message.pk}/replay").status_code == 409
    assert admin.post(f"{API}outbox/{message.pk}/discard").json()["state"] == "discarded"
    assert admin.post(f"{API}outbox/999999/discard").status_code == 404


def test_products_list_is_not_one_query_per_row(
    master_data: None,
    employee: User,
    login: Callable[[User], Client],
    django_assert_max_num_queries: Callable[[int], object],
) -> None:
    Product.objects.bulk_create(
        Product(code=f"X{i:04d}", name=f"物料{i}", list_price=Decimal(i)) for i in range(60)
    )
    signed_in = login(employee)
    with django_assert_max_num_queries(12):  # type: ignore[attr-defined]
        assert len(signed_in.get(f"{API}products/").json()["results"]) == 50


def test_every_api_call_is_in_the_call_log_by_endpoint(
    master_data: None, employee: User, login: Callable[[User], Client]
) -> None:
    signed_in = login(employee)
    signed_in.get(f"{API}products/P0001/")
    signed_in.get(f"{API}products/P0002/")
    signed_in.get(f"{API}employees/")  # refused: 403
    rows = list(
        InterfaceCall.objects.filter(interface="api", direction="in")
        .order_by("id")
        .values_list("operation", "outcome", "status_code", "caller")
    )
    assert rows == [
        ("GET erp_bridge-api:product-detail", "ok", 200, employee.username),
        ("GET erp_bridge-api:product-detail", "ok", 200, employee.username),
        ("GET erp_bridge-api:employee-list", "refused", 403, employee.username),
    ]
    minute = CallStat.objects.get(
        interface="api", operation="GET erp_bridge-api:product-detail", grain=1
    )
    assert minute.calls == 2
