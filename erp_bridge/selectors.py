"""Every read of the ERP bridge that more than one caller needs: the integration console's
figures, the outbox queue, recent failures, the last synchronizations, and the searchable
master-data copies (the console's pages, CRM quotes, forms). Selectors never import services.

**Response-time percentiles are read from a histogram**, as Prometheus'
``histogram_quantile`` does: each minute's ``CallStat`` row counts the calls whose duration
fell in each bucket (upper bounds ``BUCKETS_MS``: 5, 10, 25 ... 10000 ms, the last bucket
open-ended). The p-th percentile is found in the bucket where the running count reaches
p % of the calls, and placed inside it by linear interpolation between the bucket's lower
and upper bound (calls are taken as spread evenly within a bucket). So a percentile is
exact to its bucket and estimated within it; one in the open-ended bucket is reported as
the last bound (10 s: "at least"). Reading the roll-up, not the call log, is what keeps the
console fast over millions of calls: whole hours are read from the hourly rows and only the
ragged edges from the minute rows, so a week of one interface is about 170 rows per
operation, summed by the database in one query.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from erp_bridge.models import (
    CallStat,
    Customer,
    EmployeeRecord,
    InterfaceCall,
    OrderRecord,
    OutboxMessage,
    OutboxState,
    PriceList,
    Product,
    SyncRun,
)
from erp_bridge.models.calls import BUCKETS_MS

__all__ = [
    "BUCKET_FIELDS",
    "MAX_POINTS",
    "InterfaceSummary",
    "OutboxHealth",
    "Point",
    "customers_matching",
    "employees_matching",
    "interface_overview",
    "interface_series",
    "interface_summary",
    "interfaces_seen",
    "last_syncs",
    "oldest_pending_age",
    "order_for",
    "order_states",
    "orders_for",
    "orders_matching",
    "outbox_counts",
    "outbox_health",
    "outbox_message_for_key",
    "outbox_messages",
    "outbox_operations",
    "percentile",
    "price_lists_matching",
    "products_matching",
    "recent_failures",
]

BUCKET_FIELDS: tuple[str, ...] = tuple(f"b{i}" for i in range(len(BUCKETS_MS) + 1))
MAX_POINTS = 500  # steps of one series (a window / step beyond this is refused)
PAGE_SIZE = 25


def percentile(buckets: Sequence[int], q: float) -> float | None:
    """The ``q``-quantile (0 < q <= 1) of durations counted in ``buckets`` (one count per
    ``BUCKETS_MS`` bound, plus the open-ended last), in ms, interpolated inside its bucket
    (see the module docstring); None when nothing was counted."""
    if not 0 < q <= 1:
        raise ValueError("q is a fraction above 0 and at most 1")
    total = sum(buckets)
    if total <= 0:
        return None
    rank = q * total
    below = 0
    for index, count in enumerate(buckets):
        if count and below + count >= rank:
            if index >= len(BUCKETS_MS):  # the open-ended bucket: "at least the last bound"
                return float(BUCKETS_MS[-1])
            lower = float(BUCKETS_MS[index - 1]) if index else 0.0
            upper = float(BUCKETS_MS[index])
            return lower + (upper - lower) * (rank - below) / count
        below += count
    return float(BUCKETS_MS[-1])  # unreachable: the counts sum to total


def _minute(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(second=0, microsecond=0)


HOUR = datetime.timedelta(hours=1)


def _hour(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _end(until: datetime.datetime | None) -> datetime.datetime:
    """A window's end: ``until``, or the end of the current minute (its calls included)."""
    return until if until is not None else _minute(timezone.now()) + datetime.timedelta(minutes=1)


def _window(start: datetime.datetime, end: datetime.datetime) -> Q:
    """The roll-up rows that cover ``[start, end)`` once: the whole hours inside it from the
    hourly rows, the ragged minutes at either edge from the minute rows. A week is then
    168 rows per interface and operation instead of 10,080."""
    first, last = (
        _hour(start) + (HOUR if _hour(start) < start else datetime.timedelta()),
        _hour(end),
    )
    if last - first < HOUR:
        return Q(grain=1, minute__gte=start, minute__lt=end)
    return (
        Q(grain=60, minute__gte=first, minute__lt=last)
        | Q(grain=1, minute__gte=start, minute__lt=first)
        | Q(grain=1, minute__gte=last, minute__lt=end)
    )


def _sums() -> dict[str, Sum]:
    return {
        "n_calls": Sum("calls"),
        "n_errors": Sum("errors"),
        "n_total_ms": Sum("total_ms"),
        **{f"n_{name}": Sum(name) for name in BUCKET_FIELDS},
    }


@dataclass(frozen=True)
class _Figures:
    calls: int
    errors: int
    total_ms: int
    buckets: tuple[int, ...]

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> _Figures:
        return cls(
            calls=int(row.get("n_calls") or 0),
            errors=int(row.get("n_errors") or 0),
            total_ms=int(row.get("n_total_ms") or 0),
            buckets=tuple(int(row.get(f"n_{name}") or 0) for name in BUCKET_FIELDS),
        )

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    @property
    def average_ms(self) -> float | None:
        return self.total_ms / self.calls if self.calls else None


@dataclass(frozen=True)
class InterfaceSummary:
    """One interface's (or one of its operations') figures over a window: ``error_rate``
    is errors / calls (0 without calls); ``p50_ms``/``p95_ms`` read from the histogram
    (None without calls)."""

    interface: str
    operation: str  # "" for the whole interface
    calls: int
    errors: int
    error_rate: float
    average_ms: float | None
    p50_ms: float | None
    p95_ms: float | None


def interface_summary(
    *,
    since: datetime.datetime,
    until: datetime.datetime | None = None,
    by_operation: bool = False,
    interface: str = "",
) -> list[InterfaceSummary]:
    """Calls, errors, error rate and p50/p95 per interface (and per operation when
    ``by_operation``) of the minutes from ``since`` (its minute included) to ``until``
    (default: now; its minute excluded unless it is the current one), busiest first.
    One query over ``CallStat``."""
    rows = CallStat.objects.filter(_window(_minute(since), _end(until)))
    if interface:
        rows = rows.filter(interface=interface)
    keys = ["interface", "operation"] if by_operation else ["interface"]
    found = []
    for row in rows.order_by().values(*keys).annotate(**_sums()):
        figures = _Figures.of(row)
        found.append(
            InterfaceSummary(
                interface=row["interface"],
                operation=row.get("operation", ""),
                calls=figures.calls,
                errors=figures.errors,
                error_rate=figures.error_rate,
                average_ms=figures.average_ms,
                p50_ms=percentile(figures.buckets, 0.5),
                p95_ms=percentile(figures.buckets, 0.95),
            )
        )
    found.sort(key=lambda s: (-s.calls, s.interface, s.operation))
    return found


@dataclass(frozen=True)
class Point:
    """One step of a series: the step's start and its figures (zeros, None percentiles for
    a step without calls)."""

    start: datetime.datetime
    calls: int
    errors: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None


def interface_series(
    *,
    interface: str,
    since: datetime.datetime,
    until: datetime.datetime | None = None,
    step: datetime.timedelta,
) -> list[Point]:
    """The interface's calls, error rate, p50 and p95 per ``step`` from ``since`` (to the
    minute) until ``until`` (default now), every step present. The database sums each step
    (one query: a ``CASE`` puts each minute in its step); at most :data:`MAX_POINTS` steps
    and a step of at least a minute."""
    start, count, cover = _slots(since, until, step)
    rows = (
        CallStat.objects.filter(cover, interface=interface)
        .order_by()
        .values("minute")
        .annotate(**_sums())
    )
    by_slot: dict[int, _Figures] = {}
    for row in rows:
        _add_to(by_slot, (row["minute"] - start) // step, _Figures.of(row))
    empty = _Figures(0, 0, 0, (0,) * len(BUCKET_FIELDS))
    return [_point(start + step * n, by_slot.get(n, empty)) for n in range(count)]


def _add_to(slots: dict[int, _Figures], n: int, figures: _Figures) -> None:
    slots[n] = _add(slots[n], figures) if n in slots else figures


def _add(a: _Figures, b: _Figures) -> _Figures:
    return _Figures(
        a.calls + b.calls,
        a.errors + b.errors,
        a.total_ms + b.total_ms,
        tuple(x + y for x, y in zip(a.buckets, b.buckets, strict=True)),
    )


def _point(start: datetime.datetime, figures: _Figures) -> Point:
    return Point(
        start=start,
        calls=figures.calls,
        errors=figures.errors,
        error_rate=figures.error_rate,
        p50_ms=percentile(figures.buckets, 0.5),
        p95_ms=percentile(figures.buckets, 0.95),
    )


def _slots(
    since: datetime.datetime, until: datetime.datetime | None, step: datetime.timedelta
) -> tuple[datetime.datetime, int, Q]:
    """The window's start (to the minute; to the hour when the step is whole hours, so that
    hourly rows fall in one step each), its number of steps, and the rows that cover it.
    The database sums each row's start (a minute or an hour); the steps are added up here
    (a ``CASE`` with a branch per step cost more in Django and the driver than the sums in
    the database: bench/integration_stats.py)."""
    if step < datetime.timedelta(minutes=1):
        raise ValueError("a step is at least one minute")
    hourly = step % HOUR == datetime.timedelta()
    start = _hour(since) if hourly else _minute(since)
    end = until or timezone.now()
    count = max(1, -(-(end - start) // step))  # ceiling division of timedeltas
    if count > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS} steps")
    cover = _window(start, end) if hourly else Q(grain=1, minute__gte=start, minute__lt=end)
    return start, count, cover


def interface_overview(
    *,
    since: datetime.datetime,
    until: datetime.datetime | None = None,
    step: datetime.timedelta,
) -> list[tuple[InterfaceSummary, list[Point]]]:
    """Every interface's summary and series over the window in one query (the console's
    overview): the database sums each (interface, step); the summary adds the steps up
    (histograms add), so it equals :func:`interface_summary` over the same minutes.
    Busiest interface first."""
    start, count, cover = _slots(since, until, step)
    rows = (
        CallStat.objects.filter(cover).order_by().values("interface", "minute").annotate(**_sums())
    )
    empty = _Figures(0, 0, 0, (0,) * len(BUCKET_FIELDS))
    by_interface: dict[str, dict[int, _Figures]] = {}
    for row in rows:
        slots = by_interface.setdefault(row["interface"], {})
        _add_to(slots, (row["minute"] - start) // step, _Figures.of(row))
    found = []
    for interface, slots in by_interface.items():
        total = empty
        for figures in slots.values():
            total = _add(total, figures)
        summary = InterfaceSummary(
            interface=interface,
            operation="",
            calls=total.calls,
            errors=total.errors,
            error_rate=total.error_rate,
            average_ms=total.average_ms,
            p50_ms=percentile(total.buckets, 0.5),
            p95_ms=percentile(total.buckets, 0.95),
        )
        points = [_point(start + step * n, slots.get(n, empty)) for n in range(count)]
        found.append((summary, points))
    found.sort(key=lambda pair: (-pair[0].calls, pair[0].interface))
    return found


def interfaces_seen(*, since: datetime.datetime) -> list[str]:
    """The interfaces that had calls since ``since``, by name."""
    return sorted(
        set(
            CallStat.objects.filter(_window(_minute(since), _end(None)))
            .order_by()
            .values_list("interface", flat=True)
            .distinct()
        )
    )


# --- the outbox ------------------------------------------------------------------------------


def outbox_counts() -> dict[str, int]:
    """How many messages are in each state (every state present, 0 when none); one query."""
    counts = dict.fromkeys(OutboxState.values, 0)
    for row in OutboxMessage.objects.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    return counts


def oldest_pending_age(*, now: datetime.datetime | None = None) -> datetime.timedelta | None:
    """How long the oldest waiting message has waited since it was written (None: none
    waits); read by the ``(state, created_at)`` index."""
    oldest = (
        OutboxMessage.objects.filter(state=OutboxState.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if oldest is None:
        return None
    return max(datetime.timedelta(0), (now or timezone.now()) - oldest)


@dataclass(frozen=True)
class OutboxHealth:
    counts: dict[str, int]
    oldest_pending_age: datetime.timedelta | None


def outbox_health(*, now: datetime.datetime | None = None) -> OutboxHealth:
    """The queue by state and the oldest waiting message's age (two queries)."""
    return OutboxHealth(outbox_counts(), oldest_pending_age(now=now))


def outbox_messages(
    *, state: str = "", operation: str = "", aggregate: str = ""
) -> QuerySet[OutboxMessage]:
    """The outbox filtered by state, operation (exact) and aggregate (prefix), unordered
    (the console pages it newest first by keyset)."""
    rows = OutboxMessage.objects.all()
    if state:
        rows = rows.filter(state=state)
    if operation:
        rows = rows.filter(operation=operation)
    if aggregate:
        rows = rows.filter(aggregate__startswith=aggregate)
    return rows


def outbox_operations() -> list[str]:
    """The operations that have messages, for the filter's choices."""
    return sorted(
        set(OutboxMessage.objects.order_by().values_list("operation", flat=True).distinct())
    )


# --- failures, synchronizations ----------------------------------------------------------------


def recent_failures(limit: int = 20, *, interface: str = "") -> list[InterfaceCall]:
    """The latest calls that did not succeed, newest first, read by the partial index
    ``interface_call_failed`` (its condition ``NOT outcome = 'ok'`` is the query's)."""
    rows = InterfaceCall.objects.filter(~Q(outcome=InterfaceCall.Outcome.OK))
    if interface:
        rows = rows.filter(interface=interface)
    return list(rows.order_by("-at")[: max(0, limit)])


def last_syncs() -> dict[str, SyncRun | None]:
    """The latest synchronization of each kind of master data (None: never run), by the
    ``(kind, -started_at)`` index."""
    return {
        kind: SyncRun.objects.filter(kind=kind).order_by("-started_at", "-id").first()
        for kind in SyncRun.Kind.values
    }


# --- master data, sales orders ---------------------------------------------------------------


_M = TypeVar("_M", Product, PriceList, Customer, EmployeeRecord)


def _matching(rows: QuerySet[_M], q: str, page: int | str | None, per_page: int) -> Page[_M]:
    """Rows whose code starts with ``q`` or whose name contains it (either case), by code,
    one page of ``per_page``; the whole list when ``q`` is empty."""
    q = (q or "").strip()
    if q:
        rows = rows.filter(Q(code__istartswith=q) | Q(name__icontains=q))
    return Paginator(rows.order_by("code"), per_page).get_page(page)


def products_matching(
    q: str = "", *, page: int | str | None = 1, per_page: int = PAGE_SIZE, active_only: bool = False
) -> Page[Product]:
    """Products by code prefix or name (CRM quotes, forms, the console)."""
    rows = Product.objects.all()
    return _matching(rows.filter(active=True) if active_only else rows, q, page, per_page)


def price_lists_matching(
    q: str = "", *, page: int | str | None = 1, per_page: int = PAGE_SIZE, active_only: bool = False
) -> Page[PriceList]:
    """Price lists by code prefix or name, each with its number of lines."""
    rows = PriceList.objects.annotate(line_count=Count("lines"))
    return _matching(rows.filter(active=True) if active_only else rows, q, page, per_page)


def customers_matching(
    q: str = "", *, page: int | str | None = 1, per_page: int = PAGE_SIZE, active_only: bool = False
) -> Page[Customer]:
    """Customers by code prefix or name."""
    rows = Customer.objects.all()
    return _matching(rows.filter(active=True) if active_only else rows, q, page, per_page)


def employees_matching(
    q: str = "", *, page: int | str | None = 1, per_page: int = PAGE_SIZE, active_only: bool = False
) -> Page[EmployeeRecord]:
    """Employees as the ERP's HR knows them, by employee number prefix or name."""
    rows = EmployeeRecord.objects.all()
    return _matching(rows.filter(active=True) if active_only else rows, q, page, per_page)


def orders_matching(
    q: str = "", *, state: str = "", page: int | str | None = 1, per_page: int = PAGE_SIZE
) -> Page[OrderRecord]:
    """Sales orders sent to the ERP, newest change first, by reference / ERP number /
    customer code prefix and state."""
    rows = OrderRecord.objects.all()
    q = (q or "").strip()
    if q:
        rows = rows.filter(
            Q(reference__istartswith=q) | Q(number__istartswith=q) | Q(customer_code__istartswith=q)
        )
    if state:
        rows = rows.filter(state=state)
    return Paginator(rows.order_by("-updated_at", "-id"), per_page).get_page(page)


def order_states() -> list[str]:
    """The states the sales orders are in, for the filter's choices."""
    return sorted(set(OrderRecord.objects.order_by().values_list("state", flat=True).distinct()))


def order_for(reference: str) -> OrderRecord | None:
    """The sales order the ERP recorded for ``reference`` (a CRM quote's number), if any."""
    return OrderRecord.objects.filter(reference=reference).first() if reference else None


def orders_for(references: Sequence[str]) -> dict[str, OrderRecord]:
    """The sales orders recorded for ``references``, by reference; one query."""
    wanted = [r for r in references if r]
    if not wanted:
        return {}
    return {o.reference: o for o in OrderRecord.objects.filter(reference__in=wanted)}


def outbox_message_for_key(idempotency_key: str) -> OutboxMessage | None:
    """The outbox message written with ``idempotency_key`` (the app that wrote it finds its
    state: waiting, delivered, or a dead letter with the ERP's refusal)."""
    if not idempotency_key:
        return None
    return OutboxMessage.objects.filter(idempotency_key=idempotency_key[:64]).first()
