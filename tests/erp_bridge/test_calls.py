"""The interface call log: every gateway operation is recorded with its duration, outcome
and a digest of its payload (never the payload), and the per-minute roll-up adds up."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from erp_bridge import calls
from erp_bridge.adapters.embedded import EmbeddedGateway
from erp_bridge.calls import CallFact, calls_record, collecting, logged
from erp_bridge.gateway import ErpError, SalesOrder, SalesOrderLine
from erp_bridge.models import CallStat, InterfaceCall
from erp_bridge.models.calls import BUCKETS_MS

pytestmark = pytest.mark.django_db


def fact(duration_ms: int, outcome: str = "ok", at: datetime.datetime | None = None) -> CallFact:
    return CallFact(
        interface="erp:test",
        direction="out",
        operation="products",
        duration_ms=duration_ms,
        outcome=outcome,
        at=at or timezone.now(),
    )


def stat_row(grain: int = 1) -> CallStat:
    return CallStat.objects.get(interface="erp:test", operation="products", grain=grain)


def test_the_minute_rows_add_up_across_writes() -> None:
    at = timezone.now().replace(second=30)
    calls_record([fact(3, at=at), fact(40, "error", at=at)])
    calls_record([fact(40, at=at), fact(20_000, "refused", at=at)])
    row = stat_row()
    assert (row.calls, row.errors, row.total_ms) == (4, 2, 20_083)
    assert row.minute == at.replace(second=0, microsecond=0)
    buckets = [getattr(row, f"b{i}") for i in range(len(BUCKETS_MS) + 1)]
    assert buckets[0] == 1  # 3 ms <= 5 ms
    assert buckets[BUCKETS_MS.index(50)] == 2  # 40 ms
    assert buckets[-1] == 1  # above the last bound
    assert sum(buckets) == 4
    assert InterfaceCall.objects.count() == 4
    hour = stat_row(60)
    assert hour.minute == at.replace(minute=0, second=0, microsecond=0)
    assert (hour.calls, hour.errors, hour.total_ms, hour.b11) == (4, 2, 20_083, 1)


def test_calls_in_two_minutes_are_two_minute_rows_and_one_hour_row() -> None:
    at = timezone.now().replace(minute=10, second=0, microsecond=0)
    calls_record([fact(1, at=at), fact(1, at=at + datetime.timedelta(minutes=1))])
    assert CallStat.objects.filter(grain=1).count() == 2
    assert stat_row(60).calls == 2


def test_collecting_writes_once_at_the_end_even_after_an_error() -> None:
    with pytest.raises(ValueError), collecting():
        calls.record(fact(1))
        assert not InterfaceCall.objects.exists()  # held until the block ends
        raise ValueError
    assert InterfaceCall.objects.count() == 1


def test_a_logged_gateway_records_success_refusal_and_digest_not_payload() -> None:
    erp = logged(EmbeddedGateway())
    assert erp.name == "embedded" and erp.connected is False
    erp.products()
    order = SalesOrder(
        reference="SO-秘密-1",
        customer_code="C404",
        lines=(SalesOrderLine(product_code="P1", quantity=Decimal("1")),),
    )
    with pytest.raises(ErpError):
        erp.sales_order_create(order, idempotency_key="key-1")
    ok, refused = InterfaceCall.objects.order_by("id")
    assert (ok.interface, ok.operation, ok.outcome) == ("erp:embedded", "products", "ok")
    assert (refused.operation, refused.outcome) == ("sales_order_create", "refused")
    assert refused.idempotency_key == "key-1"
    assert "unknown customer" in refused.error
    assert len(refused.payload_digest) == 64 and "秘密" not in refused.payload_digest
    assert calls.digest({"a": 1}) == calls.digest({"a": 1}) != calls.digest({"a": 2})


@pytest.mark.django_db(transaction=True)
def test_a_log_written_in_its_own_transaction_does_not_wait_for_the_disk() -> None:
    """An API call's log is a transaction of its own: on PostgreSQL it commits with
    ``synchronous_commit`` off for that transaction alone; the connection's setting, and
    every other transaction's, stay as they were. Joined to a caller's transaction, the
    caller's commit is left alone."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return str(cursor.fetchone()[0])

    postgres = connection.vendor == "postgresql"
    before = setting() if postgres else ""
    with CaptureQueriesContext(connection) as own:
        calls_record([fact(3)])
    with CaptureQueriesContext(connection) as joined, transaction.atomic():
        calls_record([fact(4)])
    assert InterfaceCall.objects.count() == 2 and stat_row().calls == 2
    relaxed = [q["sql"] for q in own.captured_queries if "synchronous_commit" in q["sql"]]
    assert relaxed == (["SET LOCAL synchronous_commit TO OFF"] if postgres else [])
    assert not any("synchronous_commit" in q["sql"] for q in joined.captured_queries)
    if postgres:
        assert setting() == before == "on"
