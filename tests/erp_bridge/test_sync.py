"""Master-data sync: the ERP's products, price lists, customers and employees copied into the
portal's read copies by code (new ones created, changed ones updated, vanished ones marked
inactive), in bulk, with a SyncRun per pull; a failed read changes no copy. Against the
reference ERP on loopback through the generic HTTP adapter (tests/erp_bridge/reference_erp.py),
and with the embedded adapter, whose tables are the master data themselves."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from erp_bridge.adapters import gateway_reset
from erp_bridge.models import (
    Customer,
    EmployeeRecord,
    PriceList,
    PriceListLine,
    Product,
    SyncRun,
)
from erp_bridge.sync import NOT_CONNECTED, last_syncs, masterdata_sync, masterdata_sync_all
from tests.erp_bridge.http_fixtures import SECRET_ENV, reference_connection
from tests.erp_bridge.reference_erp import ReferenceErp

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[ReferenceErp]:
    """The reference ERP, connected as the portal's ERP (``ERP_ADAPTER=http``)."""
    server = ReferenceErp().start()
    monkeypatch.setenv(SECRET_ENV, server.client_secret)
    reference_connection(server)
    settings.ERP_ADAPTER = "http"
    gateway_reset()
    yield server
    gateway_reset()
    server.stop()


def copies() -> list[Any]:
    return [
        list(model.objects.order_by("pk").values())
        for model in (Product, PriceList, PriceListLine, Customer, EmployeeRecord)
    ]


def material(number: str, name: str, price: str = "1.00") -> dict[str, Any]:
    return {
        "FMaterialId": secrets.randbelow(10**6),
        "FNumber": number,
        "FName": name,
        "FBaseUnitId": {"FNumber": "Pcs"},
        "FPrice": Decimal(price),
        "FCurrencyId": {"FNumber": "CNY"},
        "FForbidStatus": "A",
    }


# --- embedded: nothing to pull -----------------------------------------------------------------


def test_with_no_erp_connected_a_sync_says_so_and_changes_nothing() -> None:
    Product.objects.create(code="P-1", name="螺栓", list_price=Decimal("1.00"))
    before = copies()
    with translation.override("en"):
        run = masterdata_sync("products", by="sunli")
    assert (run.ok, run.adapter, run.message) == (True, "embedded", NOT_CONNECTED)
    assert (run.created, run.updated, run.deactivated) == (0, 0, 0)
    assert run.triggered_by == "sunli" and run.finished_at is not None
    assert copies() == before


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown master data kind"):
        masterdata_sync("suppliers")
    assert not SyncRun.objects.exists()


# --- a connected ERP --------------------------------------------------------------------------


def test_the_first_sync_creates_the_copies(erp: ReferenceErp) -> None:
    run = masterdata_sync("products")
    assert (run.ok, run.adapter, run.message) == (True, "http", "")
    assert (run.created, run.updated, run.deactivated) == (3, 0, 0)
    bolt = Product.objects.get(code="P-1001")
    assert (bolt.name, bolt.unit, bolt.list_price, bolt.active) == (
        "不锈钢螺栓 M8",
        "Pcs",
        Decimal("0.85"),
        True,
    )
    assert bolt.erp_id and bolt.synced_at is not None
    assert Product.objects.get(code="P-1003").active is False  # 禁用 in the ERP


def test_a_second_sync_counts_only_what_changed(erp: ReferenceErp) -> None:
    masterdata_sync("products")
    again = masterdata_sync("products")
    assert (again.created, again.updated, again.deactivated) == (0, 0, 0)
    erp.materials["P-1001"]["FName"] = "不锈钢螺栓 M8×30"
    del erp.materials["P-1002"]
    erp.materials["P-1004"] = material("P-1004", "劳保手套")
    before_sync = timezone.now()
    run = masterdata_sync("products")
    assert (run.ok, run.created, run.updated, run.deactivated) == (True, 1, 1, 1)
    assert Product.objects.get(code="P-1001").name == "不锈钢螺栓 M8×30"
    gone = Product.objects.get(code="P-1002")
    assert gone.active is False  # kept (quotes point at it), no longer offered
    assert Product.objects.get(code="P-1004").active is True
    assert all(p.synced_at and p.synced_at >= before_sync for p in Product.objects.all())
    # a copy already inactive is not counted again
    assert masterdata_sync("products").deactivated == 0


def test_price_lists_and_their_lines(erp: ReferenceErp) -> None:
    masterdata_sync("products")
    run = masterdata_sync("price_lists")
    assert (run.ok, run.created, run.updated) == (True, 1, 0)
    standard = PriceList.objects.get(code="PL-STD")
    lines = sorted(
        standard.lines.values_list("product__code", "price", "min_quantity"),
    )
    assert lines == [
        ("P-1001", Decimal("0.72"), Decimal("1000")),
        ("P-1001", Decimal("0.80"), Decimal("0")),
        ("P-1002", Decimal("120.00"), Decimal("0")),
    ]
    assert masterdata_sync("price_lists").updated == 0  # the same lines: no change
    erp.price_lists["PL-STD"]["FEntity"][2]["FPrice"] = Decimal("118.00")
    erp.price_lists["PL-STD"]["FEntity"].append(
        {"FMaterialId": {"FNumber": "P-9999"}, "FPrice": Decimal("1"), "FFromQty": 0}
    )
    changed = masterdata_sync("price_lists")
    assert (changed.ok, changed.updated) == (True, 1)
    assert "P-9999" in changed.message  # a line of a product the portal has no copy of
    assert standard.lines.get(product__code="P-1002").price == Decimal("118.00")
    assert standard.lines.count() == 3


def test_sync_all_pulls_every_kind_in_order(erp: ReferenceErp) -> None:
    runs = masterdata_sync_all(by="sunli")
    assert [r.kind for r in runs] == ["products", "price_lists", "customers", "employees"]
    assert all(r.ok for r in runs), [r.message for r in runs]
    assert [r.created for r in runs] == [3, 1, 2, 1]
    customer = Customer.objects.get(code="C-001")
    assert (customer.name, customer.tax_code) == ("上海华东机电有限公司", "91310000MA1FL4XQ2B")
    employee = EmployeeRecord.objects.get(code="E0001")
    assert (employee.name, employee.department_code) == ("张伟", "D0101")
    latest = last_syncs()
    assert {kind: run.pk if run else None for kind, run in latest.items()} == {
        r.kind: r.pk for r in runs
    }


def test_last_syncs_is_none_for_a_kind_never_synced(erp: ReferenceErp) -> None:
    masterdata_sync("customers")
    latest = last_syncs()
    assert latest["products"] is None
    assert latest["customers"] is not None and latest["customers"].ok


def test_an_unreachable_erp_gives_a_failed_run_and_changes_no_copy(erp: ReferenceErp) -> None:
    masterdata_sync_all()
    erp.materials["P-1001"]["FName"] = "改了名字"
    erp.down()
    before = copies()
    run = masterdata_sync("products")
    assert (run.ok, run.created, run.updated, run.deactivated) == (False, 0, 0, 0)
    assert run.message
    assert copies() == before
    erp.up()
    assert masterdata_sync("products").updated == 1


def test_a_refusal_is_in_the_users_language_with_the_erps_words(
    erp: ReferenceErp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, secrets.token_urlsafe(24))  # the wrong client secret
    gateway_reset()
    with translation.override("en"):
        run = masterdata_sync("customers")
    assert run.ok is False
    assert run.message.startswith("The portal could not sign in to the ERP")
    assert not Customer.objects.exists()


def test_without_an_http_connection_the_run_fails_saying_why(settings: Any) -> None:
    settings.ERP_ADAPTER = "http"
    gateway_reset()
    try:
        run = masterdata_sync("products")
    finally:
        gateway_reset()
    assert (run.ok, run.adapter) == (False, "http")
    assert run.message


def test_records_that_do_not_fit_are_left_out_and_named(erp: ReferenceErp) -> None:
    erp.materials["X" * 41] = material("X" * 41, "编码太长")
    erp.materials["P-2000"] = material("P-2000", "单位太长")
    erp.materials["P-2000"]["FBaseUnitId"] = {"FNumber": "U" * 21}
    run = masterdata_sync("products")
    assert (run.ok, run.created) == (True, 3)
    assert "P-2000" in run.message and "XXXX" in run.message
    assert not Product.objects.filter(code="P-2000").exists()


def test_a_sync_is_a_few_queries_not_one_per_record(erp: ReferenceErp) -> None:
    for n in range(300):
        number = f"P-{5000 + n}"
        erp.materials[number] = material(number, f"物料{n}")
    masterdata_sync("products")  # the first: 303 new
    for n in range(0, 300, 2):
        erp.materials[f"P-{5000 + n}"]["FName"] = f"物料{n} 新版"
    with CaptureQueriesContext(db_connection) as queries:
        run = masterdata_sync("products")
    assert (run.created, run.updated) == (0, 150)
    assert len(queries.captured_queries) < 25
