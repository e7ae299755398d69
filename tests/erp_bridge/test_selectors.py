"""The integration console's reads: percentiles read from the response-time histogram,
error rates, windows and steps, the outbox queue, recent failures, master-data search."""

from __future__ import annotations

import datetime

import pytest

from erp_bridge import selectors
from erp_bridge.models import Customer, EmployeeRecord, OutboxState, Product, SyncRun
from erp_bridge.models.calls import BUCKETS_MS
from tests.erp_bridge.console_helpers import calls, message

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 10, 30, 15, tzinfo=datetime.UTC)
HOUR_AGO = NOW - datetime.timedelta(hours=1)


def buckets(**counts: int) -> list[int]:
    """A histogram: ``b3=10`` puts 10 calls in the 4th bucket (25-50 ms)."""
    values = [0] * (len(BUCKETS_MS) + 1)
    for name, count in counts.items():
        values[int(name[1:])] = count
    return values


# --- percentiles from a histogram ------------------------------------------------------------


def test_a_percentile_is_interpolated_inside_its_bucket() -> None:
    # 100 calls, all between 25 and 50 ms: the median lies halfway, p95 near the top
    assert selectors.percentile(buckets(b3=100), 0.5) == pytest.approx(37.5)
    assert selectors.percentile(buckets(b3=100), 0.95) == pytest.approx(48.75)


def test_a_percentile_finds_the_bucket_where_the_running_count_reaches_it() -> None:
    # 50 calls up to 5 ms, 40 in 100-250 ms, 10 in 1-2.5 s
    histogram = buckets(b0=50, b5=40, b8=10)
    assert selectors.percentile(histogram, 0.5) == pytest.approx(5.0)  # the top of the first
    assert selectors.percentile(histogram, 0.6) == pytest.approx(100 + 150 * 10 / 40)
    assert selectors.percentile(histogram, 0.95) == pytest.approx(1000 + 1500 * 5 / 10)


def test_the_first_bucket_starts_at_zero() -> None:
    assert selectors.percentile(buckets(b0=4), 0.5) == pytest.approx(2.5)


def test_a_percentile_in_the_open_ended_bucket_is_the_last_bound() -> None:
    assert selectors.percentile(buckets(b0=1, b11=99), 0.95) == BUCKETS_MS[-1]


def test_no_calls_no_percentile_and_a_bad_fraction_is_refused() -> None:
    assert selectors.percentile(buckets(), 0.5) is None
    with pytest.raises(ValueError, match="fraction"):
        selectors.percentile(buckets(b1=1), 1.5)


# --- summaries -------------------------------------------------------------------------------


def test_summary_per_interface_counts_calls_errors_and_reads_the_percentiles() -> None:
    minute = NOW - datetime.timedelta(minutes=10)
    calls("erp:tryton", [30] * 90 + [2000] * 10, at=minute, failed=5)
    calls("erp:tryton", [30] * 100, at=minute + datetime.timedelta(minutes=1), operation="products")
    calls("webhook:crm", [8, 9], at=minute, operation="deliver", failed=2)

    found = {s.interface: s for s in selectors.interface_summary(since=HOUR_AGO, until=NOW)}

    tryton = found["erp:tryton"]
    assert (tryton.calls, tryton.errors) == (200, 5)
    assert tryton.error_rate == pytest.approx(0.025)
    assert tryton.operation == ""
    # 190 calls in 25-50 ms, 10 in 1-2.5 s: the median is 25 + 25 * 100/190; the 190th call
    # (p95) is the last of the 25-50 ms bucket
    assert tryton.p50_ms == pytest.approx(25 + 25 * 100 / 190)
    assert tryton.p95_ms == pytest.approx(50.0)
    assert tryton.average_ms == pytest.approx((190 * 30 + 10 * 2000) / 200)
    assert found["webhook:crm"].error_rate == 1.0
    # busiest first
    assert [s.interface for s in selectors.interface_summary(since=HOUR_AGO, until=NOW)] == [
        "erp:tryton",
        "webhook:crm",
    ]


def test_summary_per_operation() -> None:
    calls("erp:tryton", [30, 30], at=NOW - datetime.timedelta(minutes=3), failed=1)
    calls("erp:tryton", [7], at=NOW - datetime.timedelta(minutes=3), operation="products")
    rows = selectors.interface_summary(since=HOUR_AGO, until=NOW, by_operation=True)
    by_operation = {(s.interface, s.operation): s for s in rows}
    assert by_operation[("erp:tryton", "sales_order_create")].error_rate == 0.5
    assert by_operation[("erp:tryton", "products")].calls == 1
    assert by_operation[("erp:tryton", "products")].p50_ms == pytest.approx(7.5)


def test_the_window_leaves_out_calls_before_and_after_it() -> None:
    calls("erp:tryton", [30], at=NOW - datetime.timedelta(hours=2))  # before
    calls("erp:tryton", [30, 30], at=NOW - datetime.timedelta(minutes=59))  # inside
    calls("erp:tryton", [30], at=NOW + datetime.timedelta(minutes=5))  # after ``until``
    (summary,) = selectors.interface_summary(since=HOUR_AGO, until=NOW)
    assert summary.calls == 2


def test_the_summary_reads_the_roll_up_in_one_query(django_assert_num_queries) -> None:
    for n in range(30):
        calls(f"erp:i{n % 3}", [10, 20, 40], at=NOW - datetime.timedelta(minutes=n))
    with django_assert_num_queries(1):
        assert len(selectors.interface_summary(since=HOUR_AGO, until=NOW)) == 3


# --- series ----------------------------------------------------------------------------------


def test_series_has_every_step_with_its_figures() -> None:
    since = NOW - datetime.timedelta(hours=1)
    calls("erp:tryton", [30, 30, 30, 30], at=since + datetime.timedelta(minutes=2), failed=1)
    calls("erp:tryton", [300], at=since + datetime.timedelta(minutes=31))
    calls("erp:other", [300], at=since + datetime.timedelta(minutes=31))  # another interface

    points = selectors.interface_series(
        interface="erp:tryton", since=since, until=NOW, step=datetime.timedelta(minutes=15)
    )

    assert [p.start for p in points] == [
        since.replace(second=0) + datetime.timedelta(minutes=15 * n) for n in range(5)
    ]
    assert [p.calls for p in points] == [4, 0, 1, 0, 0]
    assert points[0].error_rate == 0.25
    assert points[0].p50_ms == pytest.approx(37.5)
    assert points[1].p50_ms is None and points[1].error_rate == 0.0
    assert points[2].p95_ms == pytest.approx(250 + 250 * 0.95)


def test_series_answers_in_one_query_and_refuses_too_many_steps(django_assert_num_queries) -> None:
    since = NOW - datetime.timedelta(days=7)
    with django_assert_num_queries(1):
        points = selectors.interface_series(
            interface="erp:tryton", since=since, until=NOW, step=datetime.timedelta(hours=6)
        )
    assert len(points) == 29  # 7 days and 15 seconds: 28 steps and one started
    with pytest.raises(ValueError, match="steps"):
        selectors.interface_series(
            interface="erp:tryton", since=since, until=NOW, step=datetime.timedelta(minutes=1)
        )
    with pytest.raises(ValueError, match="minute"):
        selectors.interface_series(
            interface="erp:tryton", since=since, until=NOW, step=datetime.timedelta(seconds=5)
        )


# --- the outbox, failures, synchronizations ------------------------------------------------------


def test_outbox_counts_every_state_and_the_oldest_waiting_age() -> None:
    message(state=OutboxState.PENDING, created=NOW - datetime.timedelta(minutes=20))
    message(state=OutboxState.PENDING, created=NOW - datetime.timedelta(minutes=2))
    message(state=OutboxState.DEAD, created=NOW - datetime.timedelta(days=3))
    message(state=OutboxState.DELIVERED, created=NOW - datetime.timedelta(days=5))

    health = selectors.outbox_health(now=NOW)

    assert health.counts == {"pending": 2, "delivered": 1, "dead": 1, "discarded": 0}
    # a dead letter does not wait: it waits for a person
    assert health.oldest_pending_age == datetime.timedelta(minutes=20)


def test_no_waiting_message_has_no_age() -> None:
    message(state=OutboxState.DELIVERED)
    assert selectors.oldest_pending_age() is None
    assert selectors.outbox_counts()["pending"] == 0


def test_outbox_filters() -> None:
    dead = message(state=OutboxState.DEAD, aggregate="customer:C001")
    message(state=OutboxState.PENDING, aggregate="customer:C002", operation="expense_post")
    assert list(selectors.outbox_messages(state="dead")) == [dead]
    assert list(selectors.outbox_messages(aggregate="customer:C001")) == [dead]
    assert selectors.outbox_messages(operation="expense_post").count() == 1
    assert selectors.outbox_operations() == ["expense_post", "sales_order_create"]


def test_recent_failures_newest_first_with_the_other_systems_message() -> None:
    calls(
        "erp:tryton",
        [30],
        at=NOW - datetime.timedelta(minutes=5),
        failed=1,
        error="产品 P-9 不存在",
    )
    calls("erp:tryton", [30], at=NOW - datetime.timedelta(minutes=1), failed=1, error="timed out")
    calls("erp:tryton", [30, 30], at=NOW)  # succeeded: not a failure
    failures = selectors.recent_failures(10)
    assert [f.error for f in failures] == ["timed out", "产品 P-9 不存在"]
    assert selectors.recent_failures(1)[0].error == "timed out"


def test_last_sync_of_each_kind() -> None:
    base = dict(adapter="tryton", ok=True)
    SyncRun.objects.create(kind="products", started_at=NOW - datetime.timedelta(hours=2), **base)
    latest = SyncRun.objects.create(kind="products", started_at=NOW, ok=False, adapter="tryton")
    syncs = selectors.last_syncs()
    assert syncs["products"] == latest
    assert syncs["customers"] is None
    assert set(syncs) == set(SyncRun.Kind.values)


# --- master data -----------------------------------------------------------------------------


def test_master_data_matches_a_code_prefix_or_a_name_part() -> None:
    Product.objects.create(code="P-100", name="办公椅")
    Product.objects.create(code="P-200", name="升降办公桌")
    Product.objects.create(code="X-P-1", name="打印纸")
    assert [p.code for p in selectors.products_matching("p-1")] == ["P-100"]
    assert [p.code for p in selectors.products_matching("办公")] == ["P-100", "P-200"]
    assert len(selectors.products_matching("")) == 3

    Customer.objects.create(code="C001", name="上海明达贸易有限公司")
    Customer.objects.create(code="C002", name="杭州远景科技", active=False)
    assert [c.code for c in selectors.customers_matching("明达")] == ["C001"]
    assert [c.code for c in selectors.customers_matching("C", active_only=True)] == ["C001"]

    EmployeeRecord.objects.create(code="E000123", name="张伟")
    assert [e.name for e in selectors.employees_matching("E0001")] == ["张伟"]


def test_master_data_pages() -> None:
    for n in range(30):
        Product.objects.create(code=f"P-{n:03d}", name=f"产品{n}")
    first = selectors.products_matching("P-", per_page=25)
    assert (len(first), first.paginator.num_pages) == (25, 2)
    assert [p.code for p in selectors.products_matching("P-", page=2)] == [
        f"P-{n:03d}" for n in range(25, 30)
    ]
    assert selectors.products_matching("P-", page="not a page").number == 1


def test_the_overview_gives_every_interfaces_summary_and_series_in_one_query(
    django_assert_num_queries,
) -> None:
    calls("erp:tryton", [30, 30, 3000], at=NOW - datetime.timedelta(minutes=50), failed=1)
    calls("erp:tryton", [8] * 5, at=NOW - datetime.timedelta(minutes=5), operation="products")
    calls("webhook:crm", [100], at=NOW - datetime.timedelta(minutes=20))
    step = datetime.timedelta(minutes=15)

    with django_assert_num_queries(1):
        overview = selectors.interface_overview(since=HOUR_AGO, until=NOW, step=step)

    assert [summary.interface for summary, _points in overview] == ["erp:tryton", "webhook:crm"]
    assert [summary for summary, _points in overview] == selectors.interface_summary(
        since=HOUR_AGO, until=NOW
    )
    for summary, points in overview:
        assert points == selectors.interface_series(
            interface=summary.interface, since=HOUR_AGO, until=NOW, step=step
        )
